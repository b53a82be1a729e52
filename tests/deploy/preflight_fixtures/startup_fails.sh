#!/usr/bin/env bash
# a command that fails: bash -e stops here
false
echo never
