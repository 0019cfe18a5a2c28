#!/usr/bin/env bash
# install.sh: puts litellm-stack on an Ubuntu (20.04, 22.04, 24.04) or Debian machine and
# runs it. The binary comes from a release file checked against its SHA-256 before it is
# installed or run, or is built from a source checkout with cargo. Nothing downloaded is
# ever piped into a shell. Running it again with the same inputs changes nothing.
#
# Exit codes (the same as litellm-stack's): 0 done; 1 a step failed (build, the binary does
# not run); 2 bad usage (options, a missing file, a wrong checksum); 3 the environment is not
# ready (not Linux, no curl/cargo/sudo, Docker missing).
set -euo pipefail

# Everything below is one group, so bash reads the whole file before running any of it: a
# copy cut short in transit, or a file replaced while it runs, cannot run half a script.
{

readonly EXIT_FAILED=1 EXIT_USAGE=2 EXIT_ENV=3
readonly BIN_NAME=litellm-stack
# The crate builds with edition 2024, which needs Rust 1.85.
readonly MIN_RUST_MINOR=85

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly DEFAULT_SOURCE_DIR="${SCRIPT_DIR%/*}"

case "${LC_ALL:-${LC_MESSAGES:-${LANG:-}}}" in
    zh*) UI_ZH=1 ;;
    *) UI_ZH=0 ;;
esac

# say EN ZH [ARGS...]: one message to stderr, in the user's language; %s in the texts takes ARGS.
say() {
    local fmt=$1
    [ "$UI_ZH" = 1 ] && fmt=$2
    shift 2
    # The format strings are this script's own; only ARGS carry outside values.
    # shellcheck disable=SC2059
    printf "install.sh: ${fmt}\n" "$@" >&2
}

# die CODE EN ZH [ARGS...]
die() {
    local code=$1
    shift
    say "$@"
    exit "$code"
}

usage() {
    if [ "$UI_ZH" = 1 ]; then
        cat <<'EOF'
用法：install.sh [選項] [-- litellm-stack 的參數...]

在 Ubuntu 20.04/22.04/24.04 或 Debian 上安裝 litellm-stack，然後執行它。

取得執行檔（四選一；都沒給時沿用已安裝的版本）：
  --release-url BASE              團隊的發行位置（https、http 或 file://）：取這台機器用的檔案，
                                  以 BASE/SHA256SUMS 核對後才安裝
  --binary-url URL --sha256 HEX   用 curl 下載（https、http 或 file://），核對 SHA-256 後才安裝
  --binary FILE --sha256 HEX      使用本機的發行檔，核對 SHA-256 後才安裝
  --from-source [DIR]             在原始碼目錄用 cargo build --release --locked 建置
                                  （預設：這個腳本所在的 repo）

其他選項：
  --prefix DIR        安裝到 DIR（預設 ~/.local/bin）
  --install-docker    沒有 Docker 時，用 apt-get 安裝發行版本身的 docker.io（需要 sudo）
  --no-run            只安裝，不執行 litellm-stack
  -h, --help          顯示這段說明

「--」之後的參數原封不動交給 litellm-stack，例如：
  bash installer-scripts/install.sh --from-source -- install --answers answers.yaml --yes
沒有參數時執行 litellm-stack 本身（在終端機上就是安裝精靈）。

結束代碼：0 完成；1 某個步驟失敗；2 用法錯誤（選項、找不到檔案、checksum 不符）；
3 環境還沒準備好（不是 Linux、缺 curl/cargo/sudo、沒有 Docker）。
EOF
    else
        cat <<'EOF'
Usage: install.sh [OPTIONS] [-- LITELLM-STACK ARGS...]

Installs litellm-stack on Ubuntu 20.04/22.04/24.04 or Debian, then runs it.

Where the binary comes from (one of these; with none, the installed one is used):
  --release-url BASE              the team's release location (https, http or file://): the file
                                  for this machine, checked against BASE/SHA256SUMS, installed
  --binary-url URL --sha256 HEX   download it with curl (https, http or file://), verify, install
  --binary FILE --sha256 HEX      a release file on this machine, verified before it is installed
  --from-source [DIR]             build it with cargo build --release --locked in a checkout
                                  (default: the repository this script is in)

Other options:
  --prefix DIR        install into DIR (default ~/.local/bin)
  --install-docker    when Docker is missing, install the distribution's docker.io with apt-get
                      (needs sudo)
  --no-run            install only; do not run litellm-stack
  -h, --help          show this help

Arguments after `--` go to litellm-stack unchanged, for example:
  bash installer-scripts/install.sh --from-source -- install --answers answers.yaml --yes
With none, litellm-stack runs without arguments (on a terminal: the wizard).

Exit codes: 0 done; 1 a step failed; 2 bad usage (options, a missing file, a wrong checksum);
3 the environment is not ready (not Linux, no curl/cargo/sudo, no Docker).
EOF
    fi
}

# ---- options ---------------------------------------------------------------------------------

release_url=""
binary_url=""
binary_file=""
sha256=""
from_source=0
source_dir=""
prefix="${HOME:-}/.local/bin"
install_docker=0
no_run=0
passthrough=()

# need_value OPTION ARGC: an option that takes a value must have one.
need_value() {
    if [ "$2" -lt 2 ]; then
        die "$EXIT_USAGE" "%s needs a value (see --help)" "%s 後面要接一個值（見 --help）" "$1"
    fi
}

while [ $# -gt 0 ]; do
    case $1 in
        --release-url)
            need_value "$1" $#
            release_url=$2
            shift 2
            ;;
        --release-url=*)
            release_url=${1#*=}
            shift
            ;;
        --binary-url)
            need_value "$1" $#
            binary_url=$2
            shift 2
            ;;
        --binary-url=*)
            binary_url=${1#*=}
            shift
            ;;
        --binary)
            need_value "$1" $#
            binary_file=$2
            shift 2
            ;;
        --binary=*)
            binary_file=${1#*=}
            shift
            ;;
        --sha256)
            need_value "$1" $#
            sha256=$2
            shift 2
            ;;
        --sha256=*)
            sha256=${1#*=}
            shift
            ;;
        --from-source)
            from_source=1
            # The directory is optional: the next word is it unless it is another option.
            if [ $# -ge 2 ] && [ "${2#-}" = "$2" ]; then
                source_dir=$2
                shift
            fi
            shift
            ;;
        --from-source=*)
            from_source=1
            source_dir=${1#*=}
            shift
            ;;
        --prefix)
            need_value "$1" $#
            prefix=$2
            shift 2
            ;;
        --prefix=*)
            prefix=${1#*=}
            shift
            ;;
        --install-docker)
            install_docker=1
            shift
            ;;
        --no-run)
            no_run=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        --)
            shift
            passthrough=("$@")
            break
            ;;
        *)
            die "$EXIT_USAGE" "unknown option %s (arguments for litellm-stack go after --; see --help)" \
                "不認得的選項 %s（要給 litellm-stack 的參數請放在 -- 之後；見 --help）" "$1"
            ;;
    esac
done

sources=0
[ -n "$release_url" ] && sources=$((sources + 1))
[ -n "$binary_url" ] && sources=$((sources + 1))
[ -n "$binary_file" ] && sources=$((sources + 1))
[ "$from_source" = 1 ] && sources=$((sources + 1))
if [ "$sources" -gt 1 ]; then
    die "$EXIT_USAGE" "choose one of --release-url, --binary-url, --binary and --from-source" \
        "--release-url、--binary-url、--binary、--from-source 只能選一個"
fi
if [ -n "$release_url" ] && [ -n "$sha256" ]; then
    die "$EXIT_USAGE" "--sha256 does not go with --release-url: the checksum comes from the release's SHA256SUMS" \
        "--sha256 不能和 --release-url 一起用：checksum 來自發行位置的 SHA256SUMS"
fi
if [ -n "$binary_url$binary_file" ]; then
    if [ -z "$sha256" ]; then
        die "$EXIT_USAGE" "--sha256 HEX is required with --binary and --binary-url: nothing unverified is installed (the release notes list each file's SHA-256)" \
            "使用 --binary 或 --binary-url 時一定要給 --sha256 HEX：沒核對過的檔案不會被安裝（發行說明裡有每個檔案的 SHA-256）"
    fi
    if ! [[ $sha256 =~ ^[0-9a-fA-F]{64}$ ]]; then
        die "$EXIT_USAGE" "--sha256 must be 64 hexadecimal characters, got %s" \
            "--sha256 必須是 64 個十六進位字元，收到的是 %s" "$sha256"
    fi
    sha256=$(printf '%s' "$sha256" | tr 'A-F' 'a-f')
elif [ -n "$sha256" ]; then
    die "$EXIT_USAGE" "--sha256 goes with --binary or --binary-url" "--sha256 要搭配 --binary 或 --binary-url 使用"
fi
if [ -z "$prefix" ]; then
    die "$EXIT_USAGE" "--prefix is empty and HOME is not set" "--prefix 是空的，而且沒有設定 HOME"
fi
case $prefix in
    /*) ;;
    *) prefix="$PWD/$prefix" ;;
esac
dest="$prefix/$BIN_NAME"

# ---- the machine -----------------------------------------------------------------------------

if [ "$(uname -s)" != Linux ]; then
    die "$EXIT_ENV" "this script is for Linux (Ubuntu or Debian); on Windows run installer-scripts\\install.ps1 in PowerShell" \
        "這個腳本是給 Linux（Ubuntu 或 Debian）用的；Windows 請在 PowerShell 執行 installer-scripts\\install.ps1"
fi

arch=$(uname -m)
# The ELF e_machine value a binary for this machine carries, to refuse a wrong-architecture file.
case $arch in
    x86_64 | amd64) elf_machine=3e00 ;;
    aarch64 | arm64) elf_machine=b700 ;;
    *) elf_machine="" ;;
esac

os_id=unknown
os_version=""
os_like=""
os_name="Linux"
if [ -r /etc/os-release ]; then
    # Read in a subshell so its variables do not leak into this script.
    read -r os_id os_version os_like < <(
        # shellcheck source=/dev/null
        . /etc/os-release
        printf '%s %s %s\n' "${ID:-unknown}" "${VERSION_ID:-none}" "${ID_LIKE:-none}"
    )
    os_name=$(
        # shellcheck source=/dev/null
        . /etc/os-release
        printf '%s' "${PRETTY_NAME:-Linux}"
    )
fi
apt_based=0
case "$os_id $os_like" in
    *debian* | *ubuntu*) apt_based=1 ;;
esac
say "%s, %s" "%s，%s" "$os_name" "$arch"
case "$os_id:$os_version" in
    ubuntu:20.04 | ubuntu:22.04 | ubuntu:24.04 | debian:*) ;;
    *)
        say "note: tested on Ubuntu 20.04/22.04/24.04 and Debian; %s %s may work but is not tested" \
            "注意：測試過的是 Ubuntu 20.04/22.04/24.04 與 Debian；%s %s 也許能用，但沒有測試過" "$os_id" "$os_version"
        ;;
esac

# as_root CMD...: runs CMD as root, through sudo when needed.
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "$EXIT_ENV" "%s needs root and sudo is not installed: run this script as root" \
            "%s 需要 root 權限，但這台機器沒有 sudo：請用 root 執行這個腳本" "$1"
    fi
}

docker_present() {
    command -v dockerd >/dev/null 2>&1 || command -v docker >/dev/null 2>&1 || [ -S /var/run/docker.sock ]
}

docker_group_added=0
if docker_present; then
    say "Docker is installed" "已安裝 Docker"
elif [ "$install_docker" = 1 ]; then
    if [ "$apt_based" != 1 ] || ! command -v apt-get >/dev/null 2>&1; then
        die "$EXIT_ENV" "--install-docker uses apt-get, which %s does not have: install Docker Engine as your distribution documents, then run this again" \
            "--install-docker 需要 apt-get，但 %s 沒有：請依你的發行版本文件安裝 Docker Engine 後再執行一次" "$os_name"
    fi
    say "installing docker.io from %s's packages (apt-get)" "從 %s 的套件安裝 docker.io（apt-get）" "$os_name"
    if ! as_root apt-get update || ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io; then
        die "$EXIT_ENV" "apt-get could not install docker.io (its messages are above): fix the package sources or the network, then run this again" \
            "apt-get 無法安裝 docker.io（訊息在上面）：請修正套件來源或網路後再執行一次"
    fi
    if [ -d /run/systemd/system ]; then
        as_root systemctl enable --now docker ||
            say "could not start Docker with systemctl (its message is above): sudo systemctl start docker" \
                "無法用 systemctl 啟動 Docker（訊息在上面）：請執行 sudo systemctl start docker"
    else
        # No systemd (a container, WSL without systemd): start the daemon the SysV way.
        as_root service docker start ||
            say "start the Docker daemon yourself (no systemd here): sudo dockerd &" \
                "請自行啟動 Docker daemon（這裡沒有 systemd）：sudo dockerd &"
    fi
    if [ "$(id -u)" != 0 ] && ! id -nG | tr ' ' '\n' | grep -qx docker; then
        as_root usermod -aG docker "$(id -un)"
        docker_group_added=1
    fi
else
    say "Docker is not installed. litellm-stack drives the Docker Engine; install it with this script's --install-docker (the distribution's docker.io, via apt-get) or as https://docs.docker.com/engine/install/ describes" \
        "沒有安裝 Docker。litellm-stack 需要 Docker Engine：可以加上 --install-docker 讓這個腳本用 apt-get 安裝發行版本的 docker.io，或照 https://docs.docker.com/engine/install/ 自行安裝"
fi

# ---- the binary ------------------------------------------------------------------------------

work_dir=$(mktemp -d)
trap 'rm -rf -- "$work_dir"' EXIT

# verify_sha256 FILE: stops before anything runs when FILE is not the expected release file.
verify_sha256() {
    local actual
    actual=$(sha256sum -- "$1" | cut -d' ' -f1)
    if [ "$actual" != "$sha256" ]; then
        die "$EXIT_USAGE" "checksum mismatch for %s: expected SHA-256 %s, got %s. It was NOT installed or run. Download it again, or check that --sha256 is the one published with this release" \
            "%s 的 checksum 不符：預期 SHA-256 %s，實際是 %s。沒有安裝也沒有執行它。請重新下載，或確認 --sha256 是這個版本公布的值" \
            "$2" "$sha256" "$actual"
    fi
    say "SHA-256 verified: %s" "SHA-256 核對無誤：%s" "$actual"
}

# check_elf FILE: a Linux executable for this architecture (not an .exe, not a page of HTML).
check_elf() {
    local magic machine
    magic=$(od -An -tx1 -N4 -- "$1" | tr -d ' \n')
    if [ "$magic" != 7f454c46 ]; then
        die "$EXIT_USAGE" "%s is not a Linux executable (for Windows use install.ps1 and the .exe)" \
            "%s 不是 Linux 執行檔（Windows 請用 install.ps1 和 .exe）" "$2"
    fi
    machine=$(od -An -tx1 -j18 -N2 -- "$1" | tr -d ' \n')
    if [ -n "$elf_machine" ] && [ "$machine" != "$elf_machine" ]; then
        die "$EXIT_USAGE" "%s is built for another processor (ELF machine %s), this machine is %s" \
            "%s 是給別種處理器用的（ELF machine %s），這台機器是 %s" "$2" "$machine" "$arch"
    fi
}

# build_from_source DIR: prints the path of the built binary.
build_from_source() {
    local dir=$1 cargo version minor exe
    if [ ! -f "$dir/Cargo.toml" ] || ! grep -q '^name = "litellm-stack"' "$dir/Cargo.toml"; then
        die "$EXIT_USAGE" "%s is not a litellm-stack checkout (no Cargo.toml naming litellm-stack)" \
            "%s 不是 litellm-stack 的原始碼目錄（找不到寫著 litellm-stack 的 Cargo.toml）" "$dir"
    fi
    cargo=$(command -v cargo || true)
    if [ -z "$cargo" ] && [ -x "${HOME:-}/.cargo/bin/cargo" ]; then
        cargo="$HOME/.cargo/bin/cargo"
    fi
    if [ -z "$cargo" ]; then
        die "$EXIT_ENV" "--from-source needs Rust's cargo (1.%s or newer). Install Rust with rustup (https://rustup.rs), open a new terminal, then run this again; or use --binary/--binary-url with a release file" \
            "--from-source 需要 Rust 的 cargo（1.%s 以上）。請用 rustup 安裝 Rust（https://rustup.rs），開新的終端機後再執行一次；或改用發行檔（--binary/--binary-url）" "$MIN_RUST_MINOR"
    fi
    version=$("$cargo" --version)
    minor=$(printf '%s' "$version" | sed -n 's/^cargo 1\.\([0-9]*\).*/\1/p')
    if [ -z "$minor" ] || [ "$minor" -lt "$MIN_RUST_MINOR" ]; then
        die "$EXIT_ENV" "%s is too old: litellm-stack needs Rust 1.%s or newer (the distribution's cargo often is older). Update with rustup update, or install Rust with rustup (https://rustup.rs)" \
            "%s 太舊：litellm-stack 需要 Rust 1.%s 以上（發行版本附的 cargo 常常比較舊）。請執行 rustup update，或用 rustup 安裝 Rust（https://rustup.rs）" "$version" "$MIN_RUST_MINOR"
    fi
    say "building in %s with %s (the first build takes a few minutes)" \
        "在 %s 用 %s 建置（第一次建置要幾分鐘）" "$dir" "$version"
    # The artifact messages name the executable wherever the target dir is (CARGO_TARGET_DIR,
    # .cargo/config.toml); diagnostics and progress still go to the terminal.
    if ! "$cargo" build --release --locked --bin "$BIN_NAME" --manifest-path "$dir/Cargo.toml" \
        --message-format=json-render-diagnostics >"$work_dir/cargo.json"; then
        die "$EXIT_FAILED" "cargo build failed (its messages are above)" "cargo build 失敗（訊息在上面）"
    fi
    exe=$(grep '"reason":"compiler-artifact"' "$work_dir/cargo.json" | grep "\"name\":\"$BIN_NAME\"" |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
    if [ -z "$exe" ] || [ ! -x "$exe" ]; then
        die "$EXIT_FAILED" "cargo build finished but named no %s executable" "cargo build 完成了，卻沒有產生 %s 執行檔" "$BIN_NAME"
    fi
    printf '%s\n' "$exe"
}

# --release-url BASE: the file for this machine, and its checksum from BASE/SHA256SUMS; then
# the same download-and-verify path as --binary-url.
if [ -n "$release_url" ]; then
    release_url=${release_url%/}
    case $release_url in
        https://* | http://* | file://*) ;;
        /*) release_url="file://$release_url" ;;
        *)
            die "$EXIT_USAGE" "--release-url must be an https://, http:// or file:// address (or an absolute folder), got %s" \
                "--release-url 必須是 https://、http:// 或 file:// 網址（或絕對路徑的資料夾），收到的是 %s" "$release_url"
            ;;
    esac
    case $arch in
        x86_64 | amd64) release_file=litellm-stack-x86_64-unknown-linux-musl ;;
        *)
            die "$EXIT_ENV" "the releases hold a Linux binary for x86_64 only, this machine is %s: use --from-source" \
                "發行檔只有 x86_64 的 Linux 版，這台機器是 %s：請改用 --from-source" "$arch"
            ;;
    esac
    command -v curl >/dev/null 2>&1 ||
        die "$EXIT_ENV" "--release-url needs curl: sudo apt-get install curl" "--release-url 需要 curl：sudo apt-get install curl"
    if ! curl --fail --location --silent --show-error --proto '=https,http,file' \
        --output "$work_dir/SHA256SUMS" -- "$release_url/SHA256SUMS"; then
        die "$EXIT_ENV" "could not read %s/SHA256SUMS (curl's message is above): check the release location" \
            "無法讀取 %s/SHA256SUMS（curl 的訊息在上面）：請檢查發行位置" "$release_url"
    fi
    sha256=$(awk -v f="$release_file" '($2 == f || $2 == "*" f) && $1 ~ /^[0-9a-fA-F]+$/ && length($1) == 64 { print tolower($1); exit }' "$work_dir/SHA256SUMS")
    if [ -z "$sha256" ]; then
        die "$EXIT_USAGE" "%s/SHA256SUMS lists no %s: the release location holds no Linux release, or not this one" \
            "%s/SHA256SUMS 裡沒有 %s：這個發行位置沒有 Linux 版的發行檔" "$release_url" "$release_file"
    fi
    binary_url="$release_url/$release_file"
fi

src=""
if [ -n "$binary_url" ]; then
    case $binary_url in
        https://* | file://*) ;;
        http://*)
            say "note: %s is plain http; the SHA-256 check still guards the file" \
                "注意：%s 是未加密的 http；檔案仍會用 SHA-256 核對" "$binary_url"
            ;;
        *)
            die "$EXIT_USAGE" "--binary-url must be an https://, http:// or file:// URL, got %s" \
                "--binary-url 必須是 https://、http:// 或 file:// 網址，收到的是 %s" "$binary_url"
            ;;
    esac
    command -v curl >/dev/null 2>&1 ||
        die "$EXIT_ENV" "--binary-url needs curl: sudo apt-get install curl" "--binary-url 需要 curl：sudo apt-get install curl"
    say "downloading %s" "下載 %s" "$binary_url"
    if ! curl --fail --location --silent --show-error --proto '=https,http,file' \
        --output "$work_dir/$BIN_NAME" -- "$binary_url"; then
        die "$EXIT_ENV" "could not download %s (curl's message is above): check the address and the network" \
            "無法下載 %s（curl 的訊息在上面）：請檢查網址與網路" "$binary_url"
    fi
    verify_sha256 "$work_dir/$BIN_NAME" "$binary_url"
    check_elf "$work_dir/$BIN_NAME" "$binary_url"
    src="$work_dir/$BIN_NAME"
elif [ -n "$binary_file" ]; then
    if [ ! -f "$binary_file" ] || [ ! -r "$binary_file" ]; then
        die "$EXIT_USAGE" "%s does not exist or cannot be read" "%s 不存在或無法讀取" "$binary_file"
    fi
    # Verify a private copy, so the file cannot change between the check and the install.
    cp -- "$binary_file" "$work_dir/$BIN_NAME"
    verify_sha256 "$work_dir/$BIN_NAME" "$binary_file"
    check_elf "$work_dir/$BIN_NAME" "$binary_file"
    src="$work_dir/$BIN_NAME"
elif [ "$from_source" = 1 ]; then
    src=$(build_from_source "${source_dir:-$DEFAULT_SOURCE_DIR}")
elif [ -x "$dest" ]; then
    say "no --binary-url, --binary or --from-source given: using the installed %s" \
        "沒有指定 --binary-url、--binary 或 --from-source：使用已安裝的 %s" "$dest"
else
    die "$EXIT_USAGE" "say where litellm-stack comes from: --release-url BASE, --binary-url URL --sha256 HEX, --binary FILE --sha256 HEX, or --from-source (see --help)" \
        "請指定 litellm-stack 的來源：--release-url BASE、--binary-url URL --sha256 HEX、--binary FILE --sha256 HEX，或 --from-source（見 --help）"
fi

# ---- install ---------------------------------------------------------------------------------

if [ -n "$src" ]; then
    if ! mkdir -p -- "$prefix" 2>/dev/null || [ ! -w "$prefix" ]; then
        die "$EXIT_ENV" "cannot write to %s: choose another folder with --prefix" "無法寫入 %s：請用 --prefix 指定別的資料夾" "$prefix"
    fi
    if [ -f "$dest" ] && cmp -s -- "$src" "$dest"; then
        say "%s is already this version; left as it is" "%s 已經是這個版本，不用更新" "$dest"
    else
        # A temporary name in the same folder, then a rename: a running copy is never half-written.
        install -m 0755 -- "$src" "$dest.new.$$"
        mv -f -- "$dest.new.$$" "$dest"
        say "installed %s" "已安裝 %s" "$dest"
    fi
fi

if ! version_line=$("$dest" --version 2>&1); then
    die "$EXIT_FAILED" "%s does not run: %s" "%s 無法執行：%s" "$dest" "$version_line"
fi
say "%s works: %s" "%s 可以執行：%s" "$dest" "$version_line"

case ":${PATH:-}:" in
    *":$prefix:"*) ;;
    *)
        say "%s is not on your PATH: add  export PATH=\"%s:\$PATH\"  to ~/.bashrc, then open a new terminal" \
            "%s 不在 PATH 裡：請把  export PATH=\"%s:\$PATH\"  加到 ~/.bashrc，再開新的終端機" "$prefix" "$prefix"
        ;;
esac

# ---- run -------------------------------------------------------------------------------------

if [ "$no_run" = 1 ]; then
    say "done; next: %s install" "完成；下一步：%s install" "$dest"
    exit 0
fi
if [ "$docker_group_added" = 1 ]; then
    say "added %s to the docker group; it takes effect at the next login. Log out and back in (or run: newgrp docker), then run: %s install" \
        "已把 %s 加入 docker 群組，下次登入才會生效。請登出再登入（或執行 newgrp docker），然後執行：%s install" "$(id -un)" "$dest"
    exit 0
fi
# What litellm-stack can do without an engine: show help or its version, write files.
# The first word that is not the global --lang option decides.
needs_engine=1
skip_value=0
for word in "${passthrough[@]}"; do
    if [ "$skip_value" = 1 ]; then
        skip_value=0
        continue
    fi
    case $word in
        --lang) skip_value=1 ;;
        --lang=*) ;;
        -h | --help | -V | --version | help | render | plan)
            needs_engine=0
            break
            ;;
        *) break ;;
    esac
done
if [ "$needs_engine" = 1 ] && ! docker_present; then
    die "$EXIT_ENV" "litellm-stack is installed, but Docker is missing: run this script again with --install-docker, or install Docker yourself, then run: %s install" \
        "litellm-stack 已安裝，但還沒有 Docker：請加上 --install-docker 再執行一次這個腳本，或自行安裝 Docker，然後執行：%s install" "$dest"
fi
# exec replaces this shell, so the EXIT trap would not run: clean up first.
rm -rf -- "$work_dir"
trap - EXIT
exec "$dest" "${passthrough[@]}"
}
