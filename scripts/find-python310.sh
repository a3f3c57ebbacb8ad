#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter (lava-nc 0.10 installs only on 3.10).
set -u
for c in python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
  if p=$(command -v "$c" 2>/dev/null) && "$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    echo "$p"; exit 0
  fi
done
if command -v pyenv >/dev/null 2>&1; then
  for d in "$(pyenv root)"/versions/3.10*; do
    [ -x "$d/bin/python3.10" ] && { echo "$d/bin/python3.10"; exit 0; }
  done
fi
for p in /root/.pyenv/versions/3.10*/bin/python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10; do
  [ -x "$p" ] && { echo "$p"; exit 0; }
done
echo "snncc: no Python 3.10 found (lava-nc needs it); install python3.10 or set PYTHON310=/path/to/python3.10" >&2
exit 1
