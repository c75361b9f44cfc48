<?php
/**
 * Plugin Name: meterwall purge
 * Description: Drops meterwall's cached copies of a post when it changes. Define METERWALL_PURGE_URL and METERWALL_PURGE_TOKEN in wp-config.php.
 * Version: 1.0.0
 * License: AGPL-3.0-or-later
 */

if (!defined('ABSPATH')) {
    exit;
}

function meterwall_purge(array $urls): void {
    if (!defined('METERWALL_PURGE_URL') || !$urls) {
        return;
    }
    wp_remote_post(METERWALL_PURGE_URL, [
        'headers' => [
            'Authorization' => 'Bearer ' . METERWALL_PURGE_TOKEN,
            'Content-Type' => 'application/json',
        ],
        'body' => wp_json_encode(['urls' => array_values(array_unique(array_filter($urls)))]),
        'timeout' => 3,
    ]);
}

function meterwall_purge_post($post): void {
    $post = get_post($post);
    if (!$post || wp_is_post_revision($post)) {
        return;
    }
    meterwall_purge([get_permalink($post), home_url('/'), get_feed_link()]);
}

add_action('transition_post_status', function ($new, $old, $post) {
    if ($new === 'publish' || $old === 'publish') {
        meterwall_purge_post($post);
    }
}, 10, 3);
add_action('before_delete_post', 'meterwall_purge_post');
add_action('comment_post', fn ($id) => meterwall_purge_post(get_comment($id)->comment_post_ID));
add_action('wp_set_comment_status', fn ($id) => meterwall_purge_post(get_comment($id)->comment_post_ID));
