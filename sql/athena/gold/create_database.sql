CREATE DATABASE IF NOT EXISTS `{{ var.value.glue_database_gold }}`
COMMENT 'TICKIT gold aggregates (Athena CTAS, Parquet)'
