<?php
// Install WordPress (once) and publish articles: php seed.php NAME ARTICLES_JSON SITE_URL
// NAME selects /etc/wordpress/config-NAME.php (written by setup.sh).  Pretty permalinks
// (/%year%/%monthnum%/%postname%/), the Twenty Twenty-Three theme.  Prints one permalink
// per line.  Re-running updates the site URL and the articles in place.

if ($argc !== 4) {
    fwrite(STDERR, "usage: php seed.php NAME ARTICLES_JSON SITE_URL\n");
    exit(2);
}
$articles = json_decode(file_get_contents($argv[2]), true);
$site = rtrim($argv[3], '/');
$parts = parse_url($site);
$_SERVER['WORDPRESS_CONFIG'] = $argv[1];
$_SERVER['HTTP_HOST'] = $parts['host'] . (isset($parts['port']) ? ':' . $parts['port'] : '');
$_SERVER['REQUEST_URI'] = '/';
define('WP_INSTALLING', true);
require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

if (!is_blog_installed()) {
    wp_install('The Harbour Courier', 'editor', 'editor@example.com', true, '', wp_generate_password(24));
}
update_option('siteurl', $site);
update_option('home', $site);
update_option('blogname', 'The Harbour Courier');
switch_theme('twentytwentythree');
global $wp_rewrite;
$wp_rewrite->set_permalink_structure('/%year%/%monthnum%/%postname%/');
flush_rewrite_rules(false);

foreach ($articles as $index => $article) {
    $existing = get_page_by_path($article['slug'], OBJECT, 'post');
    $id = wp_insert_post([
        'ID' => $existing ? $existing->ID : 0,
        'post_title' => $article['headline'],
        'post_name' => $article['slug'],
        'post_excerpt' => $article['dek'],
        'post_content' => $article['html'],
        'post_status' => 'publish',
        'post_author' => 1,
        'post_date' => sprintf('2026-11-%02d 08:00:00', $index + 1),
    ], true);
    if (is_wp_error($id)) {
        fwrite(STDERR, $id->get_error_message() . "\n");
        exit(1);
    }
    echo get_permalink($id), "\n";
}
