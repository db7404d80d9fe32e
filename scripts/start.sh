#!/usr/bin/env bash
# Start Orthanc with Kerma in the foreground (Ctrl-C stops it).
# Installs what is missing first (scripts/setup.sh), then writes the runtime
# configuration from orthanc-config/ into var/orthanc-config/ and runs /usr/sbin/Orthanc.
#
# Environment:
#   KERMA_HTTP_PORT     HTTP port (default 8042)
#   KERMA_DICOM_PORT    DICOM port (default 4242)
#   KERMA_DATABASE_URL  SQLAlchemy URL of Kerma's database (default: Kerma's own, the SQLite file
#                       kerma.sqlite in Orthanc's index folder: <repo>/var/orthanc/index/kerma.sqlite)
#   KERMA_USER, KERMA_PASSWORD   HTTP user (default kerma / kerma: change it)
#   KERMA_CONFIG_DIR    runtime configuration folder (default <repo>/var/orthanc-config)
#   KERMA_MODALITIES    the modalities allowed to store (C-STORE, C-ECHO), space-separated AET@IP[:PORT]
#                       (default STORESCU@127.0.0.1: DCMTK's storescu on this machine; "" for none).
#                       Orthanc refuses every other calling AE title or address, and a wrong called AE title.
# Extra arguments are passed to Orthanc (e.g. --verbose).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash scripts/setup.sh

HTTP_PORT="${KERMA_HTTP_PORT:-8042}"
DICOM_PORT="${KERMA_DICOM_PORT:-4242}"
DATABASE_URL="${KERMA_DATABASE_URL:-}"
USER_NAME="${KERMA_USER:-kerma}"
PASSWORD="${KERMA_PASSWORD:-kerma}"
CONFIG_DIR="${KERMA_CONFIG_DIR:-$REPO/var/orthanc-config}"
MODALITIES="${KERMA_MODALITIES-STORESCU@127.0.0.1}"  # set but empty: no modality at all
AET=ORTHANC
modality_args=()
for modality in $MODALITIES; do modality_args+=(--modality "$modality"); done

# On a systemd host, installing the orthanc package starts Debian's own Orthanc on 8042/4242.
for port in "$HTTP_PORT" "$DICOM_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "start: port $port is already in use (Debian's orthanc service? 'systemctl disable --now orthanc'," \
             "or choose other ports with KERMA_HTTP_PORT / KERMA_DICOM_PORT)" >&2
        exit 1
    fi
done

.venv/bin/python scripts/make_config.py "$CONFIG_DIR" \
    --http-port "$HTTP_PORT" --dicom-port "$DICOM_PORT" \
    --storage-dir "$REPO/var/orthanc" ${DATABASE_URL:+--database-url "$DATABASE_URL"} \
    --python-script "$REPO/plugin/entry.py" --user "$USER_NAME:$PASSWORD" --aet "$AET" "${modality_args[@]}"

DATABASE_SHOWN="$REPO/var/orthanc/index/kerma.sqlite"  # Kerma's default: beside Orthanc's index
[ -z "$DATABASE_URL" ] || DATABASE_SHOWN="${DATABASE_URL%%://*}://..."  # never the password
SITE_PACKAGES="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

cat <<EOF

  Orthanc web    http://localhost:$HTTP_PORT/
  Kerma API      http://localhost:$HTTP_PORT/kerma/api/health
  Kerma UI       http://localhost:$HTTP_PORT/kerma/ui/
  DICOM          AE title $AET, port $DICOM_PORT, stores from: ${MODALITIES:-nobody (set KERMA_MODALITIES)}
                 e.g. storescu -R -aec $AET 127.0.0.1 $DICOM_PORT FILE.dcm
  Configuration  $CONFIG_DIR
  Kerma database $DATABASE_SHOWN

EOF
if [ "$USER_NAME:$PASSWORD" = "kerma:kerma" ]; then
    echo "  WARNING: HTTP login is the default kerma / kerma. Change it: KERMA_USER=... KERMA_PASSWORD=... $0" >&2
    echo >&2
fi

export TCP_NODELAY=1
export PYTHONPATH="$SITE_PACKAGES:$REPO/plugin"
exec /usr/sbin/Orthanc "$@" "$CONFIG_DIR"
