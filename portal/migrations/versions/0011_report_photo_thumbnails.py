"""Report photos keep their thumbnail (encrypted like the photo), made from the same pixels at
upload, so pages showing photos never decode a full photo again

Photos stored before this migration have no thumbnail (NULL): they are served by making one
from the photo, as before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        # Encrypted with the purpose "report_photos.thumbnail" (portal.crypto.EncryptedBytes).
        batch_op.add_column(sa.Column('thumbnail', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('thumbnail_media_type', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.drop_column('thumbnail_media_type')
        batch_op.drop_column('thumbnail')
