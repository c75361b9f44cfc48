#!/bin/sh
# Debian's WordPress on this machine's MariaDB: used by the WordPress benchmark and by the
# proxy tests that run against a real WordPress (tests/fixtures/wordpress.py).
#
#   sh scripts/wordpress/setup.sh missing                  # the Debian packages not installed yet
#   sh scripts/wordpress/setup.sh install                  # install them (apt), services not started
#   sh scripts/wordpress/setup.sh site NAME ARTICLES_JSON SITE_URL
#
# The packages are wordpress (with its Twenty Twenty-Three theme), php-fpm, php-cli,
# php-mysql, nginx and mariadb-server; nginx and php-fpm satisfy wordpress's web server
# dependency without apache, and none of their services is started (each user runs its own
# server on loopback).  `site` creates the database meterwall_NAME and its user on MariaDB at
# 127.0.0.1:3306 (root, no password, as on the development and CI machines; set
# MYSQL_ROOT="-uroot -pSECRET" otherwise), writes /etc/wordpress/config-NAME.php (the server
# selects it with WORDPRESS_CONFIG=NAME) and seeds the articles (seed.php); it prints one
# permalink per article.  Running it again only updates the site URL and the articles.
# ARTICLES_JSON is a list of {slug, headline, dek, html}.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
PACKAGES="wordpress wordpress-theme-twentytwentythree php-fpm php-cli php-mysql nginx mariadb-server mariadb-client"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing() {
    for package in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || printf '%s\n' "$package"
    done
}

install() {
    packages=$(missing | tr '\n' ' ')
    [ -n "$packages" ] || return 0
    echo "[wordpress] installing $packages(Debian packages)" >&2
    guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        # Keep the packages' own services (nginx on port 80, php-fpm, apache) from starting.
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod +x /usr/sbin/policy-rc.d
        guard="yes"
    fi
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        $packages >/dev/null
    [ -z "$guard" ] || $SUDO rm -f /usr/sbin/policy-rc.d
}

site() {
    name=$1 articles=$2 url=$3
    db="meterwall_$name" user="mw_$name" password="meterwall-$name-password"
    root=${MYSQL_ROOT:--uroot}
    if ! mariadb-admin $root -h127.0.0.1 -P3306 ping >/dev/null 2>&1; then
        echo "[wordpress] MariaDB does not answer on 127.0.0.1:3306 (scripts/services starts it)" >&2
        exit 1
    fi
    mariadb $root -h127.0.0.1 -P3306 <<SQL
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$password';
CREATE USER IF NOT EXISTS '$user'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'localhost';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
    $SUDO tee "/etc/wordpress/config-$name.php" >/dev/null <<PHP
<?php
define('DB_NAME', '$db');
define('DB_USER', '$user');
define('DB_PASSWORD', '$password');
define('DB_HOST', '127.0.0.1:3306');
define('DISABLE_WP_CRON', true);
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
\$table_prefix = 'wp_';
PHP
    $SUDO chmod 640 "/etc/wordpress/config-$name.php"
    $SUDO chgrp www-data "/etc/wordpress/config-$name.php"
    php "$HERE/seed.php" "$name" "$articles" "$url"
}

case "${1:-}" in
    missing) missing ;;
    install) install ;;
    site) shift; [ $# -eq 3 ] || { echo "usage: $0 site NAME ARTICLES_JSON SITE_URL" >&2; exit 2; }
          install; site "$@" ;;
    *) echo "usage: $0 missing | install | site NAME ARTICLES_JSON SITE_URL" >&2; exit 2 ;;
esac
