<?php
// Router for PHP's built-in server, serving Debian's WordPress as nginx + php-fpm would:
//   WORDPRESS_CONFIG=NAME php -S 127.0.0.1:PORT -t /usr/share/wordpress scripts/wordpress/router.php
// Static files are sent as they are, *.php scripts run, everything else goes to index.php
// (pretty permalinks, /wp-json/ and /index.php/wp-json/ included).

$_SERVER['WORDPRESS_CONFIG'] = getenv('WORDPRESS_CONFIG');
$root = '/usr/share/wordpress';
$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');

if (str_starts_with($path, '/wp-content/')) {
    $file = realpath('/var/lib/wordpress' . $path);
    if ($file !== false && str_starts_with($file, '/var/lib/wordpress/wp-content/')
        && is_file($file) && !str_ends_with($file, '.php')) {
        $types = ['css' => 'text/css', 'js' => 'application/javascript', 'svg' => 'image/svg+xml',
                  'png' => 'image/png', 'jpg' => 'image/jpeg', 'woff2' => 'font/woff2'];
        $extension = strtolower(pathinfo($file, PATHINFO_EXTENSION));
        header('Content-Type: ' . ($types[$extension] ?? 'application/octet-stream'));
        readfile($file);
        return true;
    }
}
$file = realpath($root . $path);
if ($file !== false && str_starts_with($file, $root . '/') && is_file($file)) {
    if (!str_ends_with($file, '.php')) {
        return false;
    }
    $script = $file;
} else {
    $script = $root . '/index.php';
}
$_SERVER['SCRIPT_FILENAME'] = $script;
$_SERVER['SCRIPT_NAME'] = $_SERVER['PHP_SELF'] = substr($script, strlen($root));
chdir(dirname($script));
require $script;
