"""挂牌督办: rectification photos (整改前 / 整改后) on a 督办事项's stages

``supervision_photos``: images re-encoded by ``portal.images`` (pixels only), each with its
thumbnail, its public caption (the alt text), the stage it was taken for and its phase.  Public
like the item, so stored as bytes, not encrypted; nothing here refers to a report.

Revision ID: 0015v
Revises: 0014s
Create Date: 2026-12-07 06:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0015v'
down_revision = '0014s'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('supervision_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=True),
    sa.Column('phase', sa.String(length=10), nullable=False),
    sa.Column('caption', sa.String(length=200), nullable=False),
    sa.Column('taken_on', sa.Date(), nullable=False),
    sa.Column('added_on', sa.Date(), nullable=False),
    sa.Column('media_type', sa.String(length=20), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('thumbnail', sa.LargeBinary(), nullable=False),
    sa.Column('thumbnail_media_type', sa.String(length=20), nullable=False),
    sa.Column('thumbnail_width', sa.Integer(), nullable=False),
    sa.Column('thumbnail_height', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['supervision_items.id'], name=op.f('fk_supervision_photos_item_id_supervision_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['supervision_steps.id'], name=op.f('fk_supervision_photos_step_id_supervision_steps'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_photos')),
    # A photo's address is cached by browsers: an id is never reused for another photo.
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('supervision_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_photos_item_id'), ['item_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('supervision_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_photos_item_id'))
    op.drop_table('supervision_photos')
