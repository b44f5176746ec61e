#!/usr/bin/env sh
# Print the path of a Python >= 3.12 (Django 6 needs it): on PATH first, then pyenv's versions.
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
for candidate in python3.12 python3.13 python3.14 python3; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if ok "$path"; then echo "$path"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9])(\.[0-9]+)?$' | sort -V); do
    path="$(pyenv root)/versions/$version/bin/python3"
    if ok "$path"; then echo "$path"; exit 0; fi
  done
fi
echo "No Python >= 3.12 found. Install python3.12 (or newer) and run again." >&2
exit 1
