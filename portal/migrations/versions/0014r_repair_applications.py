"""信用修复 applications (the application, its timeline, its encrypted documents), objections
(异议: one table, content encrypted) and the whole
blacklist: a subject type (生产经营单位, 安全评价/认证/检测/检验机构, 有关人员) and a person's name,
role and masked ID number on each entry.  Existing entries become 生产经营单位; the uniqueness of
a listing is per subject (credit code, date and, for a person, the name).

The applicant's details, texts, notes and documents are encrypted columns (Text in the
database); the access code is kept only as its Argon2id digest.

Revision ID: 0014r
Revises: 0014p
Create Date: 2026-12-07 02:34:02.293232
"""

import sqlalchemy as sa
from alembic import op

import portal.models

revision = '0014r'
down_revision = '0014p'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('access_digest', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('due_provisional', sa.Boolean(), nullable=False),
    sa.Column('applicant_name', sa.Text(), nullable=False),
    sa.Column('contact', sa.Text(), nullable=True),
    sa.Column('what_is_wrong', sa.Text(), nullable=False),
    sa.Column('should_read', sa.Text(), nullable=False),
    sa.Column('item_modified_at', portal.models.UTCDateTime(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('purged_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['staff_users.id'], name=op.f('fk_objections_answered_by_id_staff_users')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_objections_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objections')),
    sa.UniqueConstraint('access_digest', name=op.f('uq_objections_access_digest')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objections_answered_on'), ['answered_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_objections_closed_on'), ['closed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_objections_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_objections_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_objections_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_objections_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_objections_received_on'), ['received_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_objections_status'), ['status'], unique=False)

    with op.batch_alter_table('blacklist_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_type', sa.String(length=20), nullable=False,
                                      server_default='enterprise'))
        batch_op.add_column(sa.Column('person_name', sa.String(length=60), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('person_role', sa.String(length=60), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('person_id_masked', sa.String(length=18), nullable=False,
                                      server_default=''))
        batch_op.drop_constraint(batch_op.f('uq_blacklist_entries_uscc'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_blacklist_entries_uscc'),
                                          ['uscc', 'listed_on', 'person_name'])
        batch_op.create_index(batch_op.f('ix_blacklist_entries_person_name'), ['person_name'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_blacklist_entries_subject_type'), ['subject_type'],
                              unique=False)

    op.create_table('repair_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('access_digest', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('due_provisional', sa.Boolean(), nullable=False),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('applicant_name', sa.Text(), nullable=False),
    sa.Column('applicant_role', sa.Text(), nullable=False),
    sa.Column('contact', sa.Text(), nullable=True),
    sa.Column('penalty_done', sa.Text(), nullable=False),
    sa.Column('rectification', sa.Text(), nullable=False),
    sa.Column('proposed_outcome', sa.String(length=10), nullable=True),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_on', sa.Date(), nullable=True),
    sa.Column('decision_no', sa.String(length=80), nullable=True),
    sa.Column('reasons', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('revoked_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('purged_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff_users.id'], name=op.f('fk_repair_applications_decided_by_id_staff_users')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_repair_applications_department_id_departments')),
    sa.ForeignKeyConstraint(['entry_id'], ['blacklist_entries.id'], name=op.f('fk_repair_applications_entry_id_blacklist_entries')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['staff_users.id'], name=op.f('fk_repair_applications_proposed_by_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repair_applications')),
    sa.UniqueConstraint('access_digest', name=op.f('uq_repair_applications_access_digest')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('repair_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repair_applications_closed_on'), ['closed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_applications_decided_on'), ['decided_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_applications_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_applications_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_applications_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_applications_received_on'), ['received_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_applications_status'), ['status'], unique=False)

    op.create_table('repair_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('author', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['repair_applications.id'], name=op.f('fk_repair_events_application_id_repair_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repair_events'))
    )
    with op.batch_alter_table('repair_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repair_events_application_id'), ['application_id'], unique=False)

    op.create_table('repair_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('media_type', sa.String(length=30), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('added_on', sa.Date(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['repair_applications.id'], name=op.f('fk_repair_documents_application_id_repair_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['repair_events.id'], name=op.f('fk_repair_documents_event_id_repair_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repair_documents'))
    )
    with op.batch_alter_table('repair_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repair_documents_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_documents_event_id'), ['event_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objections_status'))
        batch_op.drop_index(batch_op.f('ix_objections_received_on'))
        batch_op.drop_index(batch_op.f('ix_objections_kind'))
        batch_op.drop_index(batch_op.f('ix_objections_item_id'))
        batch_op.drop_index(batch_op.f('ix_objections_due_on'))
        batch_op.drop_index(batch_op.f('ix_objections_department_id'))
        batch_op.drop_index(batch_op.f('ix_objections_closed_on'))
        batch_op.drop_index(batch_op.f('ix_objections_answered_on'))

    op.drop_table('objections')
    with op.batch_alter_table('repair_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repair_documents_event_id'))
        batch_op.drop_index(batch_op.f('ix_repair_documents_application_id'))

    op.drop_table('repair_documents')
    with op.batch_alter_table('repair_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repair_events_application_id'))

    op.drop_table('repair_events')
    with op.batch_alter_table('repair_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repair_applications_status'))
        batch_op.drop_index(batch_op.f('ix_repair_applications_received_on'))
        batch_op.drop_index(batch_op.f('ix_repair_applications_entry_id'))
        batch_op.drop_index(batch_op.f('ix_repair_applications_due_on'))
        batch_op.drop_index(batch_op.f('ix_repair_applications_department_id'))
        batch_op.drop_index(batch_op.f('ix_repair_applications_decided_on'))
        batch_op.drop_index(batch_op.f('ix_repair_applications_closed_on'))

    op.drop_table('repair_applications')
    with op.batch_alter_table('blacklist_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blacklist_entries_subject_type'))
        batch_op.drop_index(batch_op.f('ix_blacklist_entries_person_name'))
        batch_op.drop_constraint(batch_op.f('uq_blacklist_entries_uscc'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_blacklist_entries_uscc'),
                                          ['uscc', 'listed_on'])
        batch_op.drop_column('person_id_masked')
        batch_op.drop_column('person_role')
        batch_op.drop_column('person_name')
        batch_op.drop_column('subject_type')
