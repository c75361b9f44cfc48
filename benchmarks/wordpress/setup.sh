#!/bin/sh
# Install Debian's WordPress (php-fpm, nginx, MariaDB) for the upstream-cache benchmark and seed it.
#
#   sh benchmarks/wordpress/setup.sh ARTICLES_JSON SITE_URL
#
# ARTICLES_JSON is written by `python3 benchmarks/wordpress_cache.py articles FILE`;
# SITE_URL is where nginx will serve WordPress on loopback (http://127.0.0.1:PORT).
# Installs the packages when missing (without starting their services: the
# benchmark runs its own nginx and php-fpm on loopback), creates the database
# and a WordPress user on MariaDB at 127.0.0.1:3306 (root, no password, as on
# the development machine; set MYSQL_ROOT="-uroot -pSECRET" otherwise), writes
# /etc/wordpress/config-meterwallbench.php and seeds the articles.  Running it
# again only updates the site URL and the articles.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ARTICLES=${1:?give the articles JSON file}
SITE_URL=${2:?give the site URL, e.g. http://127.0.0.1:8089}
DB=${WP_DB:-meterwall_bench}
DB_USER=${WP_DB_USER:-meterwall_bench}
DB_PASSWORD=${WP_DB_PASSWORD:-meterwall-bench-password}
MYSQL_ROOT=${MYSQL_ROOT:--uroot}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=""
for tool in nginx php-fpm8.2 php mariadb; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing="yes"
done
[ -d /usr/share/wordpress/wp-content/themes/twentytwentythree ] || missing="yes"
if [ -n "$missing" ]; then
    echo "[setup] installing wordpress, php-fpm, nginx and mariadb-server (Debian packages)" >&2
    guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        # Keep the packages' own services (nginx on port 80, php-fpm, apache) from starting.
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod +x /usr/sbin/policy-rc.d
        guard="yes"
    fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        wordpress wordpress-theme-twentytwentythree php-fpm php-cli php-mysql nginx \
        mariadb-server mariadb-client >/dev/null
    [ -z "$guard" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi

if ! mariadb-admin $MYSQL_ROOT -h127.0.0.1 -P3306 ping >/dev/null 2>&1; then
    echo "[setup] MariaDB does not answer on 127.0.0.1:3306; start it (service mariadb start)" >&2
    exit 1
fi
mariadb $MYSQL_ROOT -h127.0.0.1 -P3306 <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$DB\`.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`$DB\`.* TO '$DB_USER'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL

$SUDO tee /etc/wordpress/config-meterwallbench.php >/dev/null <<PHP
<?php
define('DB_NAME', '$DB');
define('DB_USER', '$DB_USER');
define('DB_PASSWORD', '$DB_PASSWORD');
define('DB_HOST', '127.0.0.1:3306');
define('DISABLE_WP_CRON', true);
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
\$table_prefix = 'wp_';
PHP
$SUDO chmod 640 /etc/wordpress/config-meterwallbench.php
$SUDO chgrp www-data /etc/wordpress/config-meterwallbench.php

php "$HERE/seed.php" "$ARTICLES" "$SITE_URL"
