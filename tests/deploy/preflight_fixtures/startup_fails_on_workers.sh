#!/usr/bin/env bash
if [ "$MWAA_AIRFLOW_COMPONENT" = "worker" ]; then
  exit 4
fi
