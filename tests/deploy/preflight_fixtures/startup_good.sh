#!/usr/bin/env bash
export LAKEHOUSE_STAGE=prod
mkdir -p "$HOME/cache"
