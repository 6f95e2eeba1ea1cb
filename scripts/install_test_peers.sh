#!/usr/bin/env bash
# The line peers the outputs and camera tests start on 127.0.0.1, from Debian's packages (no PyPI
# wheel ships them): the mosquitto MQTT broker, and Aravis's fake GigE Vision camera. The camera
# comes alone out of the aravis-tools package (which would pull in GTK for its viewer), beside
# libaravis. Used by `make test`; idempotent.
set -euo pipefail
dest="${1:-.peers}"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
if [ -x /usr/sbin/mosquitto ] && ldconfig -p | grep -q libaravis-0.8.so.0 && [ -x "$dest/usr/bin/arv-fake-gv-camera-0.8" ]; then
  exit 0
fi
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto libaravis-0.8-0 >/dev/null
work="$(mktemp -d)"
chmod 777 "$work"  # apt's download user (_apt) writes there
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq aravis-tools)
mkdir -p "$dest"
dpkg-deb -x "$work"/aravis-tools_*.deb "$work/x"
mkdir -p "$dest/usr/bin"
cp "$work/x/usr/bin/arv-fake-gv-camera-0.8" "$dest/usr/bin/"
"$dest/usr/bin/arv-fake-gv-camera-0.8" --help >/dev/null
echo "test peers ready: $(/usr/sbin/mosquitto -h | head -1), $dest/usr/bin/arv-fake-gv-camera-0.8"
