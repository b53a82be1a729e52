#!/usr/bin/env bash
# relies on the caller's environment, which MWAA does not give it
test -n "$AWS_PROFILE"
