#!/usr/bin/env bash
# scripts/deps.sh [--test | --bench] - make sure the Debian packages the build needs are
# installed (libmicrohttpd, jansson and nettle for `lenet serve`); with --test
# also those the test suite needs (clang and libomp for the sanitizer build,
# protoc to decode checkpoints, numpy and onnx for the independent readers of
# our exports, curl and chromium for the server's tests, Open MPI for the
# data-parallel tests and the MPI build); with --bench those `make bench`,
# `make bench-serve` and `make speedrun` need (PyTorch, OpenCV and OpenBLAS
# for the side-by-side runs, wrk to load the server, Open MPI for the
# data-parallel row). Missing packages are
# installed with apt-get when running as root; otherwise the command to run
# is printed and the script exits 1.
set -euo pipefail
pkgs=(gcc make zlib1g-dev libpng-dev libmicrohttpd-dev libjansson-dev nettle-dev)
mpi=(openmpi-bin libopenmpi-dev)
[ "${1:-}" = "--test" ] && pkgs+=(clang libomp-dev libclang-rt-14-dev protobuf-compiler python3-numpy python3-onnx strace pkg-config curl chromium
    "${mpi[@]}")
[ "${1:-}" = "--bench" ] && pkgs+=(python3-torch python3-opencv python3-numpy libopenblas0-pthread wrk "${mpi[@]}")
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
