//! Draws the demo catalog's pictures: one plain illustration per product segment (a
//! shape of the segment's goods on its colour), a few KB each, into
//! `crates/market-core/src/seed/data/demo/images/{segment}.png`. The demo seed embeds
//! them, so the storefront demo shows pictures offline.
//!
//! `cargo run --example demo_images` rewrites them (the output is deterministic).

use image::{Rgb, RgbImage};

const WIDTH: u32 = 480;
const HEIGHT: u32 = 360;

/// What is drawn for a segment.
#[derive(Clone, Copy)]
enum Shape {
    /// A round fruit or seed (olives, dates, spices).
    Round,
    /// A jar with a lid (preserves, honey, amlou).
    Jar,
    /// A bottle (oil, vinegar, rose water).
    Bottle,
    /// A bowl (couscous, pottery).
    Bowl,
    /// A leaf (herbs and teas).
    Leaf,
    /// A bar of soap.
    Bar,
    /// Stripes (rugs and textiles).
    Stripes,
    /// A diamond (jewellery).
    Diamond,
    /// A box with a ribbon (gift sets).
    Gift,
    /// A woven basket.
    Basket,
}

const SEGMENTS: &[(&str, [u8; 3], [u8; 3], Shape)] = &[
    ("olive-oil", [236, 226, 178], [128, 140, 40], Shape::Bottle),
    ("olives", [222, 232, 200], [70, 90, 40], Shape::Round),
    ("preserves", [250, 236, 190], [226, 170, 40], Shape::Jar),
    ("vinegar", [240, 220, 220], [130, 40, 50], Shape::Bottle),
    ("honey", [252, 236, 180], [214, 150, 20], Shape::Jar),
    ("spices", [250, 222, 196], [200, 80, 30], Shape::Round),
    ("argan", [238, 224, 196], [170, 110, 40], Shape::Bottle),
    (
        "couscous-semolina",
        [246, 238, 214],
        [200, 160, 90],
        Shape::Bowl,
    ),
    ("dates", [236, 218, 200], [110, 60, 30], Shape::Round),
    ("herbs-teas", [214, 236, 214], [40, 130, 70], Shape::Leaf),
    ("amlou-spreads", [240, 226, 206], [150, 90, 50], Shape::Jar),
    (
        "seeds-grains",
        [244, 236, 212],
        [180, 150, 90],
        Shape::Round,
    ),
    ("seafood", [208, 228, 240], [40, 100, 150], Shape::Jar),
    (
        "camel-milk",
        [246, 242, 232],
        [190, 170, 140],
        Shape::Bottle,
    ),
    ("cosmetics", [240, 226, 236], [170, 90, 140], Shape::Jar),
    (
        "argan-cosmetics",
        [246, 232, 206],
        [190, 130, 50],
        Shape::Bottle,
    ),
    ("soaps-hammam", [220, 234, 226], [90, 130, 100], Shape::Bar),
    ("rose-water", [250, 222, 230], [210, 80, 120], Shape::Bottle),
    ("gift-sets", [238, 226, 244], [120, 70, 150], Shape::Gift),
    ("pottery", [244, 226, 208], [190, 90, 50], Shape::Bowl),
    ("weaving", [246, 230, 214], [170, 40, 40], Shape::Stripes),
    ("leather", [236, 222, 206], [140, 80, 40], Shape::Bar),
    ("basketry", [244, 236, 210], [170, 130, 60], Shape::Basket),
    ("woodwork", [234, 222, 206], [120, 80, 50], Shape::Bowl),
    ("jewelry", [226, 230, 240], [120, 130, 150], Shape::Diamond),
];

fn fill(img: &mut RgbImage, color: Rgb<u8>, inside: impl Fn(f32, f32) -> bool) {
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            if inside(x as f32, y as f32) {
                img.put_pixel(x, y, color);
            }
        }
    }
}

fn ellipse(cx: f32, cy: f32, rx: f32, ry: f32) -> impl Fn(f32, f32) -> bool + Copy {
    move |x, y| ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) <= 1.0
}

fn rect(x0: f32, y0: f32, x1: f32, y1: f32) -> impl Fn(f32, f32) -> bool + Copy {
    move |x, y| x >= x0 && x < x1 && y >= y0 && y < y1
}

fn draw(background: [u8; 3], ink: [u8; 3], shape: Shape) -> RgbImage {
    let mut img = RgbImage::from_pixel(WIDTH, HEIGHT, Rgb(background));
    let ink = Rgb(ink);
    let dark = Rgb(ink.0.map(|c| c / 2));
    let light = Rgb(background.map(|c| c.saturating_add(12)));
    let (cx, cy) = (WIDTH as f32 / 2.0, HEIGHT as f32 / 2.0);
    // A ground line under the goods.
    fill(
        &mut img,
        light,
        rect(0.0, cy + 110.0, WIDTH as f32, HEIGHT as f32),
    );
    match shape {
        Shape::Round => {
            for (dx, dy, r) in [(-70.0, 40.0, 55.0), (60.0, 50.0, 50.0), (0.0, -20.0, 62.0)] {
                fill(&mut img, ink, ellipse(cx + dx, cy + dy, r, r * 0.85));
                fill(
                    &mut img,
                    light,
                    ellipse(cx + dx - r * 0.35, cy + dy - r * 0.3, r * 0.18, r * 0.12),
                );
            }
        }
        Shape::Jar => {
            fill(
                &mut img,
                ink,
                rect(cx - 80.0, cy - 60.0, cx + 80.0, cy + 110.0),
            );
            fill(
                &mut img,
                dark,
                rect(cx - 90.0, cy - 95.0, cx + 90.0, cy - 60.0),
            );
            fill(
                &mut img,
                light,
                rect(cx - 55.0, cy - 10.0, cx + 55.0, cy + 50.0),
            );
        }
        Shape::Bottle => {
            fill(
                &mut img,
                ink,
                rect(cx - 55.0, cy - 40.0, cx + 55.0, cy + 110.0),
            );
            fill(&mut img, ink, ellipse(cx, cy - 40.0, 55.0, 30.0));
            fill(
                &mut img,
                ink,
                rect(cx - 18.0, cy - 120.0, cx + 18.0, cy - 40.0),
            );
            fill(
                &mut img,
                dark,
                rect(cx - 22.0, cy - 140.0, cx + 22.0, cy - 115.0),
            );
            fill(
                &mut img,
                light,
                rect(cx - 40.0, cy + 10.0, cx + 40.0, cy + 60.0),
            );
        }
        Shape::Bowl => {
            let bowl = ellipse(cx, cy + 10.0, 150.0, 100.0);
            fill(&mut img, ink, move |x, y| y >= cy + 10.0 && bowl(x, y));
            fill(&mut img, dark, ellipse(cx, cy + 10.0, 150.0, 22.0));
            fill(&mut img, light, ellipse(cx, cy + 10.0, 130.0, 14.0));
        }
        Shape::Leaf => {
            for (dx, tilt) in [(-80.0, -0.6), (0.0, 0.0), (80.0, 0.6)] {
                let (s, c) = (f32::sin(tilt), f32::cos(tilt));
                let (lx, ly) = (cx + dx, cy);
                fill(&mut img, ink, move |x, y| {
                    let (u, v) = (x - lx, y - ly);
                    let (u, v) = (u * c + v * s, -u * s + v * c);
                    (u / 40.0).powi(2) + (v / 110.0).powi(2) <= 1.0
                });
            }
        }
        Shape::Bar => {
            fill(
                &mut img,
                ink,
                rect(cx - 130.0, cy - 40.0, cx + 130.0, cy + 90.0),
            );
            fill(
                &mut img,
                dark,
                rect(cx - 130.0, cy + 70.0, cx + 130.0, cy + 90.0),
            );
            fill(
                &mut img,
                light,
                rect(cx - 90.0, cy - 10.0, cx + 90.0, cy + 30.0),
            );
        }
        Shape::Stripes => {
            fill(
                &mut img,
                ink,
                rect(cx - 160.0, cy - 110.0, cx + 160.0, cy + 110.0),
            );
            for i in 0..5 {
                let y0 = cy - 90.0 + i as f32 * 40.0;
                fill(&mut img, light, rect(cx - 160.0, y0, cx + 160.0, y0 + 12.0));
            }
            fill(&mut img, dark, move |x, y| {
                let (u, v) = ((x - cx).abs(), (y - cy).abs());
                u / 60.0 + v / 60.0 <= 1.0
            });
        }
        Shape::Diamond => {
            fill(&mut img, ink, move |x, y| {
                (x - cx).abs() / 110.0 + (y - cy).abs() / 130.0 <= 1.0
            });
            fill(&mut img, light, move |x, y| {
                (x - cx).abs() / 50.0 + (y - cy).abs() / 60.0 <= 1.0
            });
        }
        Shape::Gift => {
            fill(
                &mut img,
                ink,
                rect(cx - 120.0, cy - 60.0, cx + 120.0, cy + 110.0),
            );
            fill(
                &mut img,
                light,
                rect(cx - 15.0, cy - 60.0, cx + 15.0, cy + 110.0),
            );
            fill(
                &mut img,
                light,
                rect(cx - 120.0, cy + 10.0, cx + 120.0, cy + 35.0),
            );
            fill(&mut img, dark, ellipse(cx - 35.0, cy - 80.0, 35.0, 20.0));
            fill(&mut img, dark, ellipse(cx + 35.0, cy - 80.0, 35.0, 20.0));
        }
        Shape::Basket => {
            let body = ellipse(cx, cy - 10.0, 150.0, 120.0);
            fill(&mut img, ink, move |x, y| y >= cy - 10.0 && body(x, y));
            for i in 0..6 {
                let y0 = cy + i as f32 * 18.0;
                fill(&mut img, dark, move |x, y| {
                    y >= y0 && y < y0 + 5.0 && body(x, y)
                });
            }
            let handle = ellipse(cx, cy - 10.0, 110.0, 100.0);
            let inner = ellipse(cx, cy - 10.0, 95.0, 85.0);
            fill(&mut img, dark, move |x, y| {
                y < cy - 10.0 && handle(x, y) && !inner(x, y)
            });
        }
    }
    img
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/market-core/src/seed/data/demo/images");
    std::fs::create_dir_all(&folder)?;
    for (slug, background, ink, shape) in SEGMENTS {
        let picture = draw(*background, *ink, *shape);
        let path = folder.join(format!("{slug}.png"));
        let mut out = Vec::new();
        let encoder = image::codecs::png::PngEncoder::new_with_quality(
            &mut out,
            image::codecs::png::CompressionType::Best,
            image::codecs::png::FilterType::Adaptive,
        );
        picture.write_with_encoder(encoder)?;
        std::fs::write(&path, &out)?;
        println!("{} ({} bytes)", path.display(), out.len());
    }
    Ok(())
}
