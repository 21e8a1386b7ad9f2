# Sourced by scripts/test.sh: what the console's browser tests (crates/cli/tests/browser.rs)
# need, installed when missing: Debian's Chromium and its WebDriver (chromium, chromium-driver),
# fonts for the Japanese and Korean pages they screenshot, and the OpenID Connect provider they
# sign in at (oidc-provider from npm, pinned by scripts/oidc/package-lock.json).
browser_packages=()
command -v chromium >/dev/null 2>&1 || browser_packages+=(chromium)
command -v chromedriver >/dev/null 2>&1 || browser_packages+=(chromium-driver)
dpkg -s fonts-ipafont-gothic >/dev/null 2>&1 || browser_packages+=(fonts-ipafont-gothic)
dpkg -s fonts-unfonts-core >/dev/null 2>&1 || browser_packages+=(fonts-unfonts-core)
if [ ${#browser_packages[@]} -gt 0 ]; then
  echo "Installing ${browser_packages[*]} (the console's browser tests) ..."
  sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo_ apt-get install -y -q --no-install-recommends "${browser_packages[@]}" >target/apt.log 2>&1; then
    $sudo_ apt-get update -q >>target/apt.log 2>&1
    $sudo_ apt-get install -y -q --no-install-recommends "${browser_packages[@]}" >>target/apt.log 2>&1 \
      || { cat target/apt.log >&2; exit 1; }
  fi
fi
if [ ! -d scripts/oidc/node_modules/oidc-provider ]; then
  echo "Installing the OIDC provider (scripts/oidc) ..."
  npm ci --prefix scripts/oidc --no-audit --no-fund --loglevel=error
fi
