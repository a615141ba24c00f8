"""Anonymous reports: reports, their timeline, messages, drafts, photos and rewards (DESIGN.md §3)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 17:27:46.840508
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_drafts',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('created_hour', sa.DateTime(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_drafts'))
    )
    with op.batch_alter_table('report_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_drafts_created_hour'), ['created_hour'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt_digest', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('county', sa.String(length=40), nullable=False),
    sa.Column('enterprise_name', sa.Text(), nullable=False),
    sa.Column('uscc', sa.Text(), nullable=True),
    sa.Column('uscc_digest', sa.String(length=64), nullable=True),
    sa.Column('name_digest', sa.String(length=64), nullable=True),
    sa.Column('place', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('seen_since', sa.Text(), nullable=False),
    sa.Column('contact', sa.Text(), nullable=True),
    sa.Column('acceptance_due', sa.Date(), nullable=True),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('verification_due', sa.Date(), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('verification_result', sa.String(length=10), nullable=True),
    sa.Column('verified_on', sa.Date(), nullable=True),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('concealed_deaths', sa.Integer(), nullable=True),
    sa.Column('confirmed_level', sa.SmallInteger(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('closed_as', sa.String(length=20), nullable=True),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('purged_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_reports_decision_id_decisions')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['reports.id'], name=op.f('fk_reports_duplicate_of_id_reports')),
    sa.ForeignKeyConstraint(['handler_id'], ['staff_users.id'], name=op.f('fk_reports_handler_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('receipt_digest', name=op.f('uq_reports_receipt_digest')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_acceptance_due'), ['acceptance_due'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_closed_on'), ['closed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_decision_id'), ['decision_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_duplicate_of_id'), ['duplicate_of_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_handler_id'), ['handler_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_name_digest'), ['name_digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_received_on'), ['received_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_uscc_digest'), ['uscc_digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_verification_due'), ['verification_due'], unique=False)

    op.create_table('report_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_events_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_events'))
    )
    with op.batch_alter_table('report_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_events_report_id'), ['report_id'], unique=False)

    op.create_table('report_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('author', sa.String(length=10), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_messages_report_id_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_report_messages_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_messages'))
    )
    with op.batch_alter_table('report_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_messages_report_id'), ['report_id'], unique=False)

    op.create_table('rewards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('amount_yuan', sa.Integer(), nullable=False),
    sa.Column('basis', sa.String(length=200), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_on', sa.Date(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.Column('claim_due', sa.Date(), nullable=True),
    sa.Column('claimed_on', sa.Date(), nullable=True),
    sa.Column('claim_method', sa.String(length=20), nullable=True),
    sa.Column('payment_details', sa.Text(), nullable=True),
    sa.Column('slip_nonce', sa.String(length=32), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('paid_by_id', sa.Integer(), nullable=True),
    sa.Column('payment_reference', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff_users.id'], name=op.f('fk_rewards_decided_by_id_staff_users')),
    sa.ForeignKeyConstraint(['paid_by_id'], ['staff_users.id'], name=op.f('fk_rewards_paid_by_id_staff_users')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['staff_users.id'], name=op.f('fk_rewards_proposed_by_id_staff_users')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_rewards_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rewards')),
    sa.UniqueConstraint('report_id', name=op.f('uq_rewards_report_id'))
    )
    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rewards_decided_on'), ['decided_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_rewards_paid_on'), ['paid_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_rewards_status'), ['status'], unique=False)

    op.create_table('report_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('draft_id', sa.String(length=64), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('media_type', sa.String(length=20), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['draft_id'], ['report_drafts.id'], name=op.f('fk_report_photos_draft_id_report_drafts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['report_messages.id'], name=op.f('fk_report_photos_message_id_report_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_photos_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_photos'))
    )
    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_photos_draft_id'), ['draft_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_photos_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_photos_report_id'), ['report_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_photos_report_id'))
        batch_op.drop_index(batch_op.f('ix_report_photos_message_id'))
        batch_op.drop_index(batch_op.f('ix_report_photos_draft_id'))

    op.drop_table('report_photos')
    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rewards_status'))
        batch_op.drop_index(batch_op.f('ix_rewards_paid_on'))
        batch_op.drop_index(batch_op.f('ix_rewards_decided_on'))

    op.drop_table('rewards')
    with op.batch_alter_table('report_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_messages_report_id'))

    op.drop_table('report_messages')
    with op.batch_alter_table('report_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_events_report_id'))

    op.drop_table('report_events')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_verification_due'))
        batch_op.drop_index(batch_op.f('ix_reports_uscc_digest'))
        batch_op.drop_index(batch_op.f('ix_reports_status'))
        batch_op.drop_index(batch_op.f('ix_reports_received_on'))
        batch_op.drop_index(batch_op.f('ix_reports_name_digest'))
        batch_op.drop_index(batch_op.f('ix_reports_kind'))
        batch_op.drop_index(batch_op.f('ix_reports_handler_id'))
        batch_op.drop_index(batch_op.f('ix_reports_duplicate_of_id'))
        batch_op.drop_index(batch_op.f('ix_reports_decision_id'))
        batch_op.drop_index(batch_op.f('ix_reports_closed_on'))
        batch_op.drop_index(batch_op.f('ix_reports_acceptance_due'))

    op.drop_table('reports')
    with op.batch_alter_table('report_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_drafts_created_hour'))

    op.drop_table('report_drafts')
