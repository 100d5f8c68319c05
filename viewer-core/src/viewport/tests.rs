use super::*;

fn close(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
    (a.0 - b.0).abs() <= tol && (a.1 - b.1).abs() <= tol
}

/// Every combination of rotation and flips, with a pan and an odd zoom, so
/// that no term of the mapping can hide behind a zero or a one.
fn all_states(aspect: f64) -> Vec<ViewTransform> {
    let mut out = Vec::new();
    for rotation in 0..4 {
        for flip_horizontal in [false, true] {
            for flip_vertical in [false, true] {
                out.push(ViewTransform {
                    zoom: 1.7,
                    pan: (13.0, -7.5),
                    rotation,
                    flip_horizontal,
                    flip_vertical,
                    pixel_aspect: aspect,
                });
            }
        }
    }
    out
}

#[test]
fn fit_centres_a_square_image_in_a_wide_viewport() {
    // 512² in 800×600: zoom = min(800/512, 600/512) = 1.171875; the image is
    // 600 px wide on screen, so it starts at x = (800 − 600)/2 = 100.
    let v = ViewTransform::fit((512.0, 512.0), (800.0, 600.0));
    assert_eq!(v.zoom, 1.171_875);
    assert_eq!(
        v.image_to_screen((256.0, 256.0), (512.0, 512.0), (800.0, 600.0)),
        (400.0, 300.0)
    );
    assert_eq!(
        v.image_to_screen((0.0, 0.0), (512.0, 512.0), (800.0, 600.0)),
        (100.0, 0.0)
    );
    assert_eq!(
        v.image_to_screen((512.0, 512.0), (512.0, 512.0), (800.0, 600.0)),
        (700.0, 600.0)
    );
}

#[test]
fn fit_accounts_for_rotation_and_pixel_aspect() {
    // 1000×500 in 800×600: zoom = min(0.8, 1.2) = 0.8, top at (600 − 400)/2.
    let mut v = ViewTransform::fit((1000.0, 500.0), (800.0, 600.0));
    assert_eq!(v.zoom, 0.8);
    assert_eq!(
        v.image_to_screen((0.0, 0.0), (1000.0, 500.0), (800.0, 600.0)),
        (0.0, 100.0)
    );
    // Turned, it is 500 wide and 1000 tall: zoom = min(800/500, 600/1000) = 0.6.
    v.rotate_clockwise();
    v.fit_in((1000.0, 500.0), (800.0, 600.0));
    assert!((v.zoom - 0.6).abs() < 1e-12);
    // 100 columns × 50 rows of pixels twice as tall as wide is square on
    // screen: in 200×200 it fills the viewport at zoom 2.
    let a = ViewTransform::fit_with_aspect((100.0, 50.0), (200.0, 200.0), 2.0);
    assert_eq!(a.zoom, 2.0);
    assert_eq!(
        a.image_to_screen((0.0, 0.0), (100.0, 50.0), (200.0, 200.0)),
        (0.0, 0.0)
    );
    assert_eq!(
        a.image_to_screen((100.0, 50.0), (100.0, 50.0), (200.0, 200.0)),
        (200.0, 200.0)
    );
}

#[test]
fn screen_and_image_round_trip_in_every_orientation() {
    let image = (300.0, 200.0);
    let viewport = (640.0, 480.0);
    for aspect in [1.0, 2.5] {
        for v in all_states(aspect) {
            for p in [(0.0, 0.0), (12.5, 190.25), (300.0, 1.0), (-20.0, 400.0)] {
                let s = v.image_to_screen(p, image, viewport);
                let back = v.screen_to_image(s, image, viewport);
                assert!(close(back, p, 1e-9), "{v:?}: {p:?} → {s:?} → {back:?}");
            }
        }
    }
}

#[test]
fn rotation_turns_the_picture_clockwise_as_seen() {
    // 100² at zoom 1 in 100²: the image's top left corner is at the screen's
    // top left; a clockwise turn carries it to the top right.
    let mut v = ViewTransform::default();
    let (image, viewport) = ((100.0, 100.0), (100.0, 100.0));
    assert_eq!(v.image_to_screen((0.0, 0.0), image, viewport), (0.0, 0.0));
    v.rotate_clockwise();
    assert_eq!(v.image_to_screen((0.0, 0.0), image, viewport), (100.0, 0.0));
    v.rotate_clockwise();
    assert_eq!(
        v.image_to_screen((0.0, 0.0), image, viewport),
        (100.0, 100.0)
    );
    v.rotate_clockwise();
    v.rotate_clockwise();
    assert_eq!(v.rotation, 0);
    assert_eq!(v.image_to_screen((0.0, 0.0), image, viewport), (0.0, 0.0));
}

#[test]
fn rotate_and_flip_act_on_what_is_seen_whatever_came_before() {
    let image = (300.0, 200.0);
    let viewport = (640.0, 480.0);
    let centre = (320.0, 240.0);
    let points = [(0.0, 0.0), (300.0, 0.0), (37.0, 150.0)];
    for v in all_states(1.3) {
        let before: Vec<_> = points
            .iter()
            .map(|p| v.image_to_screen(*p, image, viewport))
            .collect();

        // Clockwise about the viewport centre on a y-down screen: (x, y) ↦ (−y, x).
        let mut turned = v;
        turned.rotate_clockwise();
        for (p, b) in points.iter().zip(&before) {
            let expected = (centre.0 - (b.1 - centre.1), centre.1 + (b.0 - centre.0));
            assert!(
                close(turned.image_to_screen(*p, image, viewport), expected, 1e-9),
                "{v:?}"
            );
        }

        let mut mirrored = v;
        mirrored.flip_horizontal();
        for (p, b) in points.iter().zip(&before) {
            let expected = (2.0 * centre.0 - b.0, b.1);
            assert!(
                close(
                    mirrored.image_to_screen(*p, image, viewport),
                    expected,
                    1e-9
                ),
                "{v:?}"
            );
        }

        let mut upside_down = v;
        upside_down.flip_vertical();
        for (p, b) in points.iter().zip(&before) {
            let expected = (b.0, 2.0 * centre.1 - b.1);
            assert!(
                close(
                    upside_down.image_to_screen(*p, image, viewport),
                    expected,
                    1e-9
                ),
                "{v:?}"
            );
        }
    }
}

#[test]
fn zoom_about_keeps_the_point_under_the_cursor() {
    let image = (512.0, 512.0);
    let viewport = (800.0, 600.0);
    for mut v in all_states(1.0) {
        let cursor = (123.0, 456.0);
        let under = v.screen_to_image(cursor, image, viewport);
        v.zoom_about(2.5, cursor, image, viewport);
        assert!((v.zoom - 4.25).abs() < 1e-12);
        assert!(close(
            v.screen_to_image(cursor, image, viewport),
            under,
            1e-9
        ));
        assert!(close(
            v.image_to_screen(under, image, viewport),
            cursor,
            1e-9
        ));
    }
}

#[test]
fn zoom_is_clamped_and_ignores_nonsense() {
    let mut v = ViewTransform::default();
    v.zoom_about(1e9, (0.0, 0.0), (10.0, 10.0), (10.0, 10.0));
    assert_eq!(v.zoom, MAX_ZOOM);
    v.zoom_about(1e-12, (0.0, 0.0), (10.0, 10.0), (10.0, 10.0));
    assert_eq!(v.zoom, MIN_ZOOM);
    let before = v;
    v.zoom_about(f64::NAN, (0.0, 0.0), (10.0, 10.0), (10.0, 10.0));
    v.zoom_about(-2.0, (0.0, 0.0), (10.0, 10.0), (10.0, 10.0));
    v.pan_by(f64::INFINITY, 0.0);
    assert_eq!(v, before);
}

#[test]
fn one_to_one_keeps_the_centre_point() {
    let image = (2000.0, 2500.0);
    let viewport = (800.0, 600.0);
    let mut v = ViewTransform::fit(image, viewport);
    v.pan_by(40.0, -25.0);
    let centre_before = v.screen_to_image((400.0, 300.0), image, viewport);
    v.one_to_one(image, viewport);
    assert_eq!(v.zoom, 1.0);
    assert!(close(
        v.screen_to_image((400.0, 300.0), image, viewport),
        centre_before,
        1e-9
    ));
}

#[test]
fn reset_returns_to_the_fitted_unrotated_view() {
    let image = (300.0, 200.0);
    let viewport = (640.0, 480.0);
    let mut v = ViewTransform::fit_with_aspect(image, viewport, 1.5);
    let opening = v;
    v.rotate_clockwise();
    v.flip_vertical();
    v.pan_by(5.0, 5.0);
    v.zoom_about(3.0, (1.0, 2.0), image, viewport);
    v.reset(image, viewport);
    assert_eq!(v, opening);
}

#[test]
fn clip_to_image_is_exact_for_a_one_to_one_view() {
    // 512² at zoom 1 in 512²: clip x = −1 → col 0, x = 1 → col 512;
    // clip y = 1 (top) → row 0, y = −1 → row 512. So col = 256x + 256 and
    // row = −256y + 256.
    let v = ViewTransform::fit((512.0, 512.0), (512.0, 512.0));
    assert_eq!(
        v.clip_to_image((512.0, 512.0), (512.0, 512.0)),
        [256.0, 0.0, 256.0, 0.0, -256.0, 256.0]
    );
    // A clockwise turn brings the image's first column to the top of the
    // screen (y = 1) and its first row to the right edge (x = 1):
    // col = −256y + 256, row = −256x + 256.
    let mut turned = v;
    turned.rotate_clockwise();
    assert_eq!(
        turned.clip_to_image((512.0, 512.0), (512.0, 512.0)),
        [0.0, -256.0, 256.0, -256.0, 0.0, 256.0]
    );
}

#[test]
fn clip_to_image_agrees_with_screen_to_image() {
    let image = (300.0, 200.0);
    let viewport = (640.0, 480.0);
    for v in all_states(1.25) {
        let m = v.clip_to_image(image, viewport);
        for (x, y) in [(-1.0, 1.0), (1.0, -1.0), (0.0, 0.0), (0.25, -0.75)] {
            let col = f64::from(m[0]) * x + f64::from(m[1]) * y + f64::from(m[2]);
            let row = f64::from(m[3]) * x + f64::from(m[4]) * y + f64::from(m[5]);
            let screen = ((x + 1.0) / 2.0 * viewport.0, (1.0 - y) / 2.0 * viewport.1);
            let expected = v.screen_to_image(screen, image, viewport);
            assert!(
                close((col, row), expected, 1e-3),
                "{v:?} at clip ({x}, {y})"
            );
        }
    }
}
