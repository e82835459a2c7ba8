//! Product photos and cooperative pictures: uploads through the GraphQL multipart request
//! specification, what is refused (and with which code), metadata stripping, renditions
//! and their HTTP caching, the order of a product's photos, and the files left behind.

use crate::fixtures::{self, Portal};
use crate::helpers::{TestApp, error_code, multipart_request};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use image::{ImageEncoder, RgbImage};
use serde_json::{Value, json};
use solidarity_market::graphql::ids::{NodeType, encode};

const ADD: &str = "mutation($input: AddProductImageInput!) { addProductImage(input: $input) {
    image { id url alt width height position webp: url(width: 500, format: WEBP) big: url(width: 5000) }
    userErrors { field code message } } }";

fn gid(t: NodeType, id: i32) -> String {
    encode(t, id).to_string()
}

/// A `width` × `height` JPEG of a smooth gradient.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let picture = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(&picture, width, height, image::ExtendedColorType::Rgb8)
        .expect("encode");
    out
}

/// A PNG of random noise (which does not compress).
fn noise_png(width: u32, height: u32) -> Vec<u8> {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let picture = RgbImage::from_fn(width, height, |_, _| image::Rgb(rng.r#gen::<[u8; 3]>()));
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&picture, width, height, image::ExtendedColorType::Rgb8)
        .expect("encode");
    out
}

/// What the EXIF block of [`jpeg_with_exif`] carries besides its orientation: a place.
const SECRET: &[u8] = b"GPS 33.5731N 7.5898W home of the photographer";

/// A JPEG with an EXIF block (APP1) right after its start: orientation 6 ("rotate 90°
/// clockwise to show"), and [`SECRET`] after the IFD.
fn jpeg_with_exif(width: u32, height: u32) -> Vec<u8> {
    let plain = jpeg(width, height);
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes()); // first IFD at offset 8
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes()); // one value
    tiff.extend_from_slice(&6u16.to_le_bytes()); // rotate 90° clockwise
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    tiff.extend_from_slice(SECRET);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG of a few bytes whose header claims `width` × `height` pixels: a decompression
/// bomb, as far as a decoder that trusts it knows.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = noise_png(1, 1);
    // IHDR's data starts after the signature (8), length (4) and type (4).
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

async fn add_photo(app: &TestApp, token: &str, product: i32, file: &[u8], alt: &str) -> Value {
    app.upload_as(
        Some(token),
        ADD,
        json!({ "input": { "productId": gid(NodeType::Product, product), "file": null, "alt": alt } }),
        "variables.input.file",
        file,
    )
    .await
}

/// GETs a path; status, headers and body.
async fn get(
    app: &TestApp,
    path: &str,
    etag: Option<&str>,
) -> (StatusCode, header::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    let mut request = Request::get(path);
    if let Some(tag) = etag {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    let response =
        tower::ServiceExt::oneshot(app.router.clone(), request.body(Body::empty()).unwrap())
            .await
            .expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

/// The hash part of a rendition URL.
fn hash_of(url: &str) -> String {
    url.split('/').nth(2).expect("a rendition URL").to_owned()
}

#[tokio::test]
async fn a_member_uploads_a_photo_of_its_own_product_through_the_multipart_spec() {
    let app = TestApp::spawn().await;
    let Portal {
        product, actors, ..
    } = fixtures::portal(&app.db).await;
    let out = add_photo(
        &app,
        &actors.own_member,
        product.id,
        &jpeg(600, 300),
        "A jar of thyme honey",
    )
    .await;
    let payload = &out["data"]["addProductImage"];
    assert_eq!(payload["userErrors"], json!([]), "{out}");
    let image = &payload["image"];
    assert_eq!(image["alt"], "A jar of thyme honey");
    assert_eq!(
        (image["width"].as_i64(), image["height"].as_i64()),
        (Some(600), Some(300))
    );
    assert_eq!(image["position"], 0);
    let url = image["url"].as_str().unwrap();
    assert!(
        url.starts_with("/images/") && url.ends_with("/480.jpg"),
        "{url}"
    );
    assert!(image["webp"].as_str().unwrap().ends_with("/480.webp"));
    assert!(image["big"].as_str().unwrap().ends_with("/1080.jpg"));

    let data = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Product { featuredImage { alt } images { alt position } } } }",
            json!({ "id": gid(NodeType::Product, product.id) }),
        )
        .await;
    assert_eq!(data["node"]["featuredImage"]["alt"], "A jar of thyme honey");
    assert_eq!(data["node"]["images"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_member_cannot_upload_a_photo_of_another_cooperatives_product() {
    let app = TestApp::spawn().await;
    let Portal {
        product, actors, ..
    } = fixtures::portal(&app.db).await;
    let out = add_photo(&app, &actors.other_member, product.id, &jpeg(64, 64), "").await;
    assert_eq!(error_code(&out), "FORBIDDEN", "{out}");
    let anonymous = app
        .upload_as(
            None,
            ADD,
            json!({ "input": { "productId": gid(NodeType::Product, product.id), "file": null } }),
            "variables.input.file",
            &jpeg(64, 64),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    // Nothing was stored.
    let stored = std::fs::read_dir(app.images.path())
        .unwrap()
        .flatten()
        .count();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn a_multipart_request_without_a_preflight_header_is_refused() {
    let app = TestApp::spawn().await;
    let Portal {
        product, actors, ..
    } = fixtures::portal(&app.db).await;
    let request = multipart_request(
        Some(&actors.own_member),
        ADD,
        json!({ "input": { "productId": gid(NodeType::Product, product.id), "file": null } }),
        "variables.input.file",
        "photo.jpg",
        &jpeg(32, 32),
        false,
    );
    let (status, _, body) = app.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error_code(&body), "PREFLIGHT_REQUIRED");
}

#[tokio::test]
async fn files_that_are_not_accepted_images_are_refused_with_codes() {
    let app = TestApp::spawn_with(|c| {
        c.max_image_bytes = 40_000;
        c.max_image_pixels = 100_000;
    })
    .await;
    let Portal {
        product, actors, ..
    } = fixtures::portal(&app.db).await;
    let token = &actors.own_member;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "text named photo.jpg",
            b"this is not a picture at all".to_vec(),
            "NOT_AN_IMAGE",
        ),
        (
            "a GIF",
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
            "NOT_AN_IMAGE",
        ),
        (
            "a truncated JPEG",
            jpeg(200, 200)[..300].to_vec(),
            "NOT_AN_IMAGE",
        ),
        (
            "a file over the size limit",
            noise_png(150, 150),
            "IMAGE_TOO_LARGE",
        ),
        (
            "an image over the pixel limit",
            jpeg(400, 300),
            "IMAGE_TOO_MANY_PIXELS",
        ),
        (
            "a decompression bomb",
            png_claiming(50_000, 50_000),
            "IMAGE_TOO_MANY_PIXELS",
        ),
    ];
    for (what, file, code) in cases {
        let out = add_photo(&app, token, product.id, &file, "").await;
        let errors = &out["data"]["addProductImage"]["userErrors"];
        assert_eq!(errors[0]["code"], code, "{what}: {out}");
        assert_eq!(errors[0]["field"], json!(["input", "file"]), "{what}");
        assert!(out["data"]["addProductImage"]["image"].is_null());
    }
    let data = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Product { images { id } } } }",
            json!({ "id": gid(NodeType::Product, product.id) }),
        )
        .await;
    assert_eq!(data["node"]["images"], json!([]));
}

#[tokio::test]
async fn a_body_far_over_the_upload_limit_is_refused_before_it_is_read() {
    let app = TestApp::spawn_with(|c| {
        c.max_image_bytes = 10_000;
        c.max_body_bytes = 10_000;
    })
    .await;
    let Portal {
        product, actors, ..
    } = fixtures::portal(&app.db).await;
    let request = multipart_request(
        Some(&actors.own_member),
        ADD,
        json!({ "input": { "productId": gid(NodeType::Product, product.id), "file": null } }),
        "variables.input.file",
        "photo.png",
        &vec![0u8; 100_000],
        true,
    );
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn exif_metadata_is_removed_and_the_picture_turned_upright() {
    let app = TestApp::spawn().await;
    let Portal {
        product, actors, ..
    } = fixtures::portal(&app.db).await;
    let file = jpeg_with_exif(80, 40);
    assert!(file.windows(SECRET.len()).any(|w| w == SECRET));
    let out = add_photo(&app, &actors.own_member, product.id, &file, "").await;
    let image = &out["data"]["addProductImage"]["image"];
    assert_eq!(
        out["data"]["addProductImage"]["userErrors"],
        json!([]),
        "{out}"
    );
    // Orientation 6: the stored picture is the upright one, 40 × 80.
    assert_eq!(
        (image["width"].as_i64(), image["height"].as_i64()),
        (Some(40), Some(80))
    );
    let hash = hash_of(image["url"].as_str().unwrap());
    let original =
        std::fs::read(app.images.path().join("originals").join(&hash)).expect("original stored");
    assert_eq!(&original[..2], &[0xFF, 0xD8], "still a JPEG");
    assert!(
        !original.windows(4).any(|w| w == b"Exif"),
        "no EXIF block is left"
    );
    assert!(!original.windows(SECRET.len()).any(|w| w == SECRET));
    let decoded = image::load_from_memory(&original).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (40, 80));
    let (_, _, rendition) = get(&app, image["url"].as_str().unwrap(), None).await;
    assert!(!rendition.windows(4).any(|w| w == b"Exif"));
}

#[tokio::test]
async fn renditions_have_the_right_type_and_size_and_are_cached_forever() {
    let app = TestApp::spawn().await;
    let Portal {
        product, actors, ..
    } = fixtures::portal(&app.db).await;
    let out = add_photo(&app, &actors.own_member, product.id, &jpeg(600, 300), "").await;
    let image = &out["data"]["addProductImage"]["image"];
    for (url, content_type, size) in [
        (image["url"].as_str().unwrap(), "image/jpeg", (480, 240)),
        (image["webp"].as_str().unwrap(), "image/webp", (480, 240)),
        // Never enlarged: the 1080 rendition of a 600-pixel picture is 600 wide.
        (image["big"].as_str().unwrap(), "image/jpeg", (600, 300)),
    ] {
        let (status, headers, body) = get(&app, url, None).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert_eq!(headers[header::CONTENT_TYPE], content_type);
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let etag = headers[header::ETAG].to_str().unwrap().to_owned();
        assert!(
            etag.starts_with('"') && !etag.starts_with("W/"),
            "a strong tag: {etag}"
        );
        let decoded = image::load_from_memory(&body).expect("a picture");
        assert_eq!((decoded.width(), decoded.height()), size, "{url}");
        let format = image::guess_format(&body).unwrap();
        assert_eq!(format.to_mime_type(), content_type);
        // Kept in the store: the same bytes again.
        let (_, _, again) = get(&app, url, None).await;
        assert_eq!(again, body);
        let (status, headers, body) = get(&app, url, Some(&etag)).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert_eq!(headers[header::ETAG].to_str().unwrap(), etag);
        assert!(body.is_empty());
    }
    let hash = hash_of(image["url"].as_str().unwrap());
    for missing in [
        format!("/images/{hash}/500.jpg"),
        format!("/images/{hash}/480.gif"),
        format!("/images/{}/480.jpg", "0".repeat(64)),
        "/images/..%2F..%2Fetc/480.jpg".to_owned(),
    ] {
        let (status, _, _) = get(&app, &missing, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }
}

#[tokio::test]
async fn photos_are_reordered_changed_and_removed_and_their_files_go_with_the_last_user() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let second = fixtures::product(
        &app.db,
        &p.coop,
        fixtures::NewProduct::new("HON-BGZ-2", "Thyme honey, large", "honey", 15000, 3),
    )
    .await;
    let token = &p.actors.own_member;
    let shared = jpeg(64, 48);
    let mut ids = Vec::new();
    for (n, file) in [shared.clone(), jpeg(48, 64), jpeg(32, 32)]
        .iter()
        .enumerate()
    {
        let out = add_photo(&app, token, p.product.id, file, &format!("photo {n}")).await;
        ids.push(
            out["data"]["addProductImage"]["image"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // The same picture on another product: one file for both.
    let out = add_photo(&app, token, second.id, &shared, "the same jar").await;
    let shared_url = out["data"]["addProductImage"]["image"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let shared_hash = hash_of(&shared_url);
    let originals = || {
        std::fs::read_dir(app.images.path().join("originals"))
            .unwrap()
            .count()
    };
    assert_eq!(originals(), 3);

    let out = app
        .graphql_as(
            Some(token),
            "mutation($i: ReorderProductImagesInput!) { reorderProductImages(input: $i) {
                product { images { alt position } featuredImage { alt } } userErrors { code } } }",
            json!({ "i": { "productId": gid(NodeType::Product, p.product.id), "imageIds": [ids[2], ids[0], ids[1]] } }),
        )
        .await;
    let product = &out["data"]["reorderProductImages"]["product"];
    assert_eq!(product["featuredImage"]["alt"], "photo 2", "{out}");
    assert_eq!(
        product["images"],
        json!([{ "alt": "photo 2", "position": 0 }, { "alt": "photo 0", "position": 1 }, { "alt": "photo 1", "position": 2 }])
    );
    let out = app
        .graphql_as(
            Some(token),
            "mutation($i: ReorderProductImagesInput!) { reorderProductImages(input: $i) { userErrors { code field } } }",
            json!({ "i": { "productId": gid(NodeType::Product, p.product.id), "imageIds": [ids[2], ids[0]] } }),
        )
        .await;
    assert_eq!(
        out["data"]["reorderProductImages"]["userErrors"][0]["code"],
        "INVALID"
    );

    let out = app
        .graphql_as(
            Some(token),
            "mutation($i: UpdateProductImageInput!) { updateProductImage(input: $i) {
                product { images { alt } } userErrors { code } } }",
            json!({ "i": { "id": ids[1], "alt": "the back label", "position": 0 } }),
        )
        .await;
    assert_eq!(
        out["data"]["updateProductImage"]["product"]["images"],
        json!([{ "alt": "the back label" }, { "alt": "photo 2" }, { "alt": "photo 0" }]),
        "{out}"
    );

    let remove = "mutation($i: RemoveProductImageInput!) { removeProductImage(input: $i) {
        product { images { alt position } } userErrors { code } } }";
    let out = app
        .graphql_as(Some(token), remove, json!({ "i": { "id": ids[0] } }))
        .await;
    assert_eq!(
        out["data"]["removeProductImage"]["product"]["images"],
        json!([{ "alt": "the back label", "position": 0 }, { "alt": "photo 2", "position": 1 }]),
        "{out}"
    );
    // The other product still uses the shared picture: its file stays.
    assert_eq!(originals(), 3);
    let (status, _, _) = get(&app, &shared_url, None).await;
    assert_eq!(status, StatusCode::OK);
    let second_photo = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Product { images { id } } } }",
            json!({ "id": gid(NodeType::Product, second.id) }),
        )
        .await["node"]["images"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = app
        .graphql_as(Some(token), remove, json!({ "i": { "id": second_photo } }))
        .await;
    assert_eq!(
        out["data"]["removeProductImage"]["userErrors"],
        json!([]),
        "{out}"
    );
    assert_eq!(
        originals(),
        2,
        "the last user of the file is gone, and so is the file"
    );
    let renditions = app.images.path().join("renditions").join(&shared_hash);
    let left = std::fs::read_dir(&renditions).map_or(0, |d| d.count());
    assert_eq!(left, 0, "its renditions went too");

    let out = app
        .graphql_as(
            Some(&p.actors.other_member),
            remove,
            json!({ "i": { "id": ids[1] } }),
        )
        .await;
    assert_eq!(error_code(&out), "FORBIDDEN");
    let out = app
        .graphql_as(
            Some(&p.actors.manager),
            remove,
            json!({ "i": { "id": ids[0] } }),
        )
        .await;
    assert_eq!(error_code(&out), "NOT_FOUND", "{out}");
}

#[tokio::test]
async fn a_cooperative_gets_a_logo_and_a_cover() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let set = "mutation($input: SetCooperativeImageInput!) { setCooperativeImage(input: $input) {
        cooperative { logo { url(width: 160, format: WEBP) alt width } cover { alt } } userErrors { code } } }";
    let vars = |coop: i32, role: &str| json!({ "input": { "cooperativeId": gid(NodeType::Cooperative, coop), "role": role, "file": null, "alt": role } });
    let out = app
        .upload_as(
            Some(&p.actors.own_member),
            set,
            vars(p.coop.id, "LOGO"),
            "variables.input.file",
            &jpeg(200, 200),
        )
        .await;
    let coop = &out["data"]["setCooperativeImage"]["cooperative"];
    assert_eq!(coop["logo"]["alt"], "LOGO", "{out}");
    assert!(coop["logo"]["url"].as_str().unwrap().ends_with("/160.webp"));
    assert!(coop["cover"].is_null());
    let (status, headers, body) = get(&app, coop["logo"]["url"].as_str().unwrap(), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/webp");
    assert_eq!(image::load_from_memory(&body).unwrap().width(), 160);
    // Replaced: the old file goes.
    let out = app
        .upload_as(
            Some(&p.actors.manager),
            set,
            vars(p.coop.id, "LOGO"),
            "variables.input.file",
            &jpeg(100, 100),
        )
        .await;
    assert_eq!(
        out["data"]["setCooperativeImage"]["cooperative"]["logo"]["width"], 100,
        "{out}"
    );
    assert_eq!(
        std::fs::read_dir(app.images.path().join("originals"))
            .unwrap()
            .count(),
        1
    );
    let out = app
        .upload_as(
            Some(&p.actors.own_member),
            set,
            vars(p.other.id, "COVER"),
            "variables.input.file",
            &jpeg(100, 100),
        )
        .await;
    assert_eq!(error_code(&out), "FORBIDDEN");
    let out = app
        .graphql_as(
            Some(&p.actors.own_member),
            "mutation($i: RemoveCooperativeImageInput!) { removeCooperativeImage(input: $i) { cooperative { logo { alt } } } }",
            json!({ "i": { "cooperativeId": gid(NodeType::Cooperative, p.coop.id), "role": "LOGO" } }),
        )
        .await;
    assert!(
        out["data"]["removeCooperativeImage"]["cooperative"]["logo"].is_null(),
        "{out}"
    );
    assert_eq!(
        std::fs::read_dir(app.images.path().join("originals"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test]
async fn a_new_photo_shows_at_once_in_cached_catalog_answers() {
    let app =
        TestApp::spawn_with(|c| c.response_cache = solidarity_market::config::Switch::On).await;
    let p = fixtures::portal(&app.db).await;
    // The fixtures wrote past the catalog version: bump it, as a write would.
    solidarity_market::domain::catalog_version::touch(&app.db)
        .await
        .unwrap();
    let query = "{ products(first: 5) { nodes { sku images { alt } } } }";
    let before = app.data(query, json!({})).await;
    assert_eq!(before["products"]["nodes"][0]["images"], json!([]));
    add_photo(
        &app,
        &p.actors.own_member,
        p.product.id,
        &jpeg(40, 40),
        "fresh",
    )
    .await;
    let after = app.data(query, json!({})).await;
    assert_eq!(
        after["products"]["nodes"][0]["images"],
        json!([{ "alt": "fresh" }])
    );
}

#[tokio::test]
async fn concurrent_uploads_get_distinct_places_and_identical_pictures_share_one_file() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    // Six different pictures and two copies of one more.
    let mut files: Vec<Vec<u8>> = (0..6).map(|n| jpeg(100 + n, 90)).collect();
    files.push(jpeg(50, 50));
    files.push(jpeg(50, 50));
    let uploads = files.iter().enumerate().map(|(n, file)| {
        let (app, token, product) = (&app, &p.actors.own_member, p.product.id);
        async move { add_photo(app, token, product, file, &format!("copy {n}")).await }
    });
    let results = futures::future::join_all(uploads).await;
    for out in &results {
        assert_eq!(
            out["data"]["addProductImage"]["userErrors"],
            json!([]),
            "{out}"
        );
    }
    let data = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Product { images { position url } } } }",
            json!({ "id": gid(NodeType::Product, p.product.id) }),
        )
        .await;
    let images = data["node"]["images"].as_array().unwrap();
    let mut positions: Vec<i64> = images
        .iter()
        .map(|i| i["position"].as_i64().unwrap())
        .collect();
    positions.sort();
    assert_eq!(positions, (0..8).collect::<Vec<i64>>());
    assert_eq!(
        std::fs::read_dir(app.images.path().join("originals"))
            .unwrap()
            .count(),
        7
    );
}

#[tokio::test]
async fn the_demo_catalog_shows_a_picture_on_every_product_offline() {
    let app = TestApp::with_demo().await;
    let data = app
        .data(
            "{ products(first: 100, filter: { includeUnsellable: false }) { nodes { sku segment { slug } featuredImage { url(width: 480, format: WEBP) alt width height } } } }",
            json!({}),
        )
        .await;
    let nodes = data["products"]["nodes"].as_array().unwrap();
    assert!(!nodes.is_empty());
    for node in nodes {
        let image = &node["featuredImage"];
        assert!(image.is_object(), "{} has no picture", node["sku"]);
        assert_eq!(
            (image["width"].as_i64(), image["height"].as_i64()),
            (Some(480), Some(360))
        );
    }
    let url = nodes[0]["featuredImage"]["url"].as_str().unwrap();
    let (status, headers, body) = get(&app, url, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/webp");
    assert_eq!(image::load_from_memory(&body).unwrap().width(), 480);
    assert!(body.len() < 20_000, "a small picture: {} bytes", body.len());
}

#[tokio::test]
async fn a_failed_upload_leaves_neither_a_file_nor_a_record() {
    use market_core::entities::{product_image, stored_image};
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    // The last step of an upload's transaction (bumping the catalog version) fails, after
    // the file was written.
    app.execute_sql("DROP TABLE catalog_changes").await;
    let out = add_photo(&app, &p.actors.own_member, p.product.id, &jpeg(64, 64), "").await;
    assert_eq!(error_code(&out), "INTERNAL_SERVER_ERROR", "{out}");
    let files = std::fs::read_dir(app.images.path().join("originals")).map_or(0, |d| d.count());
    assert_eq!(files, 0, "the file written was deleted again");
    assert_eq!(
        product_image::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    assert_eq!(
        stored_image::Entity::find().count(&app.db).await.unwrap(),
        0
    );
}
