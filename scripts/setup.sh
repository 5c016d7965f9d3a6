# Shared by demo.sh and test.sh: install what a fresh Debian 12 machine lacks, and configure build dirs.
# Sourced, not run.

packages=(g++ meson ninja-build pkg-config cmake python3 libxtensor-dev libxtensor-blas-dev xtl-dev libxsimd-dev
          libfmt-dev doctest-dev libopenblas-dev libbenchmark-dev libzip-dev zlib1g-dev libplplot-dev
          plplot-driver-cairo libcli11-dev dataset-fashion-mnist python3-numpy
          libopenmpi-dev openmpi-bin)

install_dependencies() {
    local missing=()
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "error: missing packages ${missing[*]}; run as root or install them" >&2; exit 1; }
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# configure DIR [meson options...]: set up DIR, or apply the options to an existing one.
configure() {
    local dir=$1
    shift
    local log
    if [ -f "$dir/build.ninja" ]; then
        # A directory set up before an option existed (-Dplot, -Dcpu_baseline) does not know it: reconfiguring reads
        # meson_options.txt again.
        meson configure "$dir" "$@" >/dev/null 2>&1 && return 0
        log=$(meson setup --reconfigure "$dir" "$@" 2>&1)
    else
        log=$(meson setup "$dir" "$@" 2>&1)
    fi || { echo "$log" >&2; return 1; }
}

# Small networks are fastest on one BLAS thread (see docs/performance.md).
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
