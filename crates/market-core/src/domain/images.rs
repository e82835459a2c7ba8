//! Images: product photos and cooperatives' logo and cover — how an upload is checked
//! (decoded, never trusted by its name or declared type), re-encoded without its
//! metadata, kept in the object store, recorded, reordered and removed, and how the
//! storefront's renditions are made.
//!
//! # Files and records, and why neither is ever left without the other
//!
//! A file is stored under the SHA-256 of its re-encoded bytes (`originals/{hash}`), so
//! two uploads of the same picture share one file, and its renditions under
//! `renditions/{hash}/{width}.{ext}`. Each file has one `stored_images` row, which exists
//! exactly while some record (a product's photo, a cooperative's logo or cover) uses it.
//! That row is also what uploads and deletions of the same file serialize on:
//!
//! - An upload, in one write transaction: claims the row (`INSERT … ON CONFLICT DO
//!   NOTHING`, which on PostgreSQL waits for any other transaction inserting or deleting
//!   it, then `SELECT … FOR UPDATE`; SQLite has one writer at a time anyway), writes the
//!   file (an idempotent put: same key, same bytes), inserts the record and bumps the
//!   catalog version, then commits. So the record commits only after its file is written.
//! - If anything fails after the file was written, the transaction rolls back (no record)
//!   and [`ImageStore::delete_if_unused`] removes the file unless someone else uses it.
//! - A removal deletes the record (and the `stored_images` row when it was the last user)
//!   in one transaction, then, after the commit, [`ImageStore::delete_if_unused`].
//! - [`ImageStore::delete_if_unused`] takes the row itself in a write transaction
//!   (inserting it: the insert waits for any upload of the same file in flight) and deletes
//!   the files only if the row did not exist — nobody uses them, and no upload can commit
//!   a record for them before the deletion is done.
//!
//! A crash between a commit and the deletion of an unused file leaves a file without a
//! record (garbage, never a broken picture); a crash before the commit of an upload, the
//! same. A rendition made while its original was being deleted is the same kind of garbage.

use crate::config::Config;
use crate::db;
use crate::domain::enums::CooperativeImageRole;
use crate::domain::input;
use crate::entities::{cooperative_image, product_image, stored_image};
use crate::error::{AppError, AppResult, UserError, UserErrorCode};
use bytes::Bytes;
use chrono::Utc;
use futures::TryStreamExt;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use object_store::ObjectStore;
use object_store::path::Path as StorePath;
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sha2::{Digest, Sha256};
use std::io::Cursor;
use std::sync::Arc;

/// The widths renditions are made at; a request for another width gets the nearest one
/// (so the renditions of an image are a handful of files, whatever clients ask).
pub const WIDTHS: [u32; 3] = [160, 480, 1080];

/// How many photos a product may have.
pub const MAX_PER_PRODUCT: u64 = 20;

/// Longest alternative text.
pub const MAX_ALT: usize = 500;

/// JPEG quality of re-encoded originals and of renditions.
const JPEG_QUALITY: u8 = 88;

/// The nearest standard width to `asked` (the larger one on a tie; at least the smallest).
pub fn snap_width(asked: i64) -> u32 {
    let mut best = WIDTHS[0];
    for w in WIDTHS {
        if (i64::from(w) - asked).abs() <= (i64::from(best) - asked).abs() {
            best = w;
        }
    }
    best
}

/// The formats renditions are served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RenditionFormat {
    /// WebP (lossless: the pure-Rust encoder makes no lossy WebP).
    Webp,
    /// Baseline JPEG, which every browser and mail client shows.
    Jpeg,
}

impl RenditionFormat {
    /// The file extension in rendition URLs.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Webp => "webp",
            Self::Jpeg => "jpg",
        }
    }

    /// The format of a URL's extension.
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "webp" => Some(Self::Webp),
            "jpg" | "jpeg" => Some(Self::Jpeg),
            _ => None,
        }
    }

    /// The `Content-Type` of the rendition.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Webp => "image/webp",
            Self::Jpeg => "image/jpeg",
        }
    }
}

/// The path (after the server's origin or `IMAGE_BASE_URL`) of a rendition of file `hash`.
pub fn rendition_path(hash: &str, width: u32, format: RenditionFormat) -> String {
    format!("/images/{hash}/{width}.{}", format.extension())
}

/// Whether `text` is a file key (a SHA-256 in lowercase hexadecimal).
pub fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What an upload may be.
#[derive(Debug, Clone, Copy)]
pub struct ImageLimits {
    pub max_bytes: usize,
    pub max_pixels: u64,
}

/// An upload that passed the checks: re-encoded, without metadata, ready to store.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub hash: String,
    /// `jpeg`, `png` or `webp`.
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: Bytes,
}

fn file_error(code: UserErrorCode, message: impl Into<String>) -> AppError {
    AppError::user(code, &["file"], message)
}

/// Checks an uploaded file and re-encodes it. The format is read from the bytes (the
/// file's name and declared type are not trusted); only JPEG, PNG and WebP are accepted
/// — no other decoder is compiled in. The dimensions are read from the header and
/// checked against the pixel limit before anything is decoded (a small file can hold a
/// huge image), and the decoder runs under allocation limits as well. The picture is
/// turned upright by its EXIF orientation, then re-encoded in its own format: nothing of
/// the file but its pixels is kept (EXIF, GPS position, XMP, comments, ICC profile).
///
/// CPU-heavy: call it from a blocking thread ([`ImageStore::prepare`]).
pub fn prepare(data: &[u8], limits: ImageLimits) -> AppResult<Prepared> {
    use UserErrorCode::*;
    if data.len() > limits.max_bytes {
        return Err(file_error(
            ImageTooLarge,
            format!(
                "The file has {} bytes; images of at most {} bytes are accepted.",
                data.len(),
                limits.max_bytes
            ),
        ));
    }
    let format = match image::guess_format(data) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => f,
        _ => {
            return Err(file_error(
                NotAnImage,
                "The file is not a JPEG, PNG or WebP image.",
            ));
        }
    };
    let undecodable = || file_error(NotAnImage, "The image could not be decoded.");
    let reader = |limits: Limits| {
        let mut r = ImageReader::with_format(Cursor::new(data), format);
        r.limits(limits);
        r
    };
    let mut header_limits = Limits::default();
    header_limits.max_alloc = Some(64 * 1024 * 1024);
    let (width, height) = reader(header_limits)
        .into_dimensions()
        .map_err(|_| undecodable())?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(file_error(
            ImageTooManyPixels,
            format!(
                "The image is {width} × {height} pixels; images of at most {} pixels are accepted.",
                limits.max_pixels
            ),
        ));
    }
    if pixels == 0 {
        return Err(undecodable());
    }
    let mut decode_limits = Limits::default();
    decode_limits.max_image_width = Some(width);
    decode_limits.max_image_height = Some(height);
    // Room for the widest pixel format (16-bit RGBA) and the decoder's own buffers.
    decode_limits.max_alloc = Some(pixels.saturating_mul(8).saturating_add(64 * 1024 * 1024));
    let mut decoder = reader(decode_limits)
        .into_decoder()
        .map_err(|_| undecodable())?;
    let orientation = decoder.orientation().map_err(|_| undecodable())?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|_| undecodable())?;
    picture.apply_orientation(orientation);
    let (bytes, name) = match format {
        ImageFormat::Jpeg => (encode(&picture, RenditionFormat::Jpeg)?, "jpeg"),
        ImageFormat::WebP => (encode(&picture, RenditionFormat::Webp)?, "webp"),
        _ => (encode_png(&picture)?, "png"),
    };
    Ok(Prepared {
        hash: hex::encode(Sha256::digest(&bytes)),
        format: name,
        width: picture.width(),
        height: picture.height(),
        bytes: Bytes::from(bytes),
    })
}

fn encoding_failed(err: image::ImageError) -> AppError {
    AppError::internal_caused("could not encode an image", err)
}

/// 8-bit pixels, with alpha only when the picture has some.
fn eight_bit(picture: &DynamicImage, keep_alpha: bool) -> DynamicImage {
    if keep_alpha && picture.color().has_alpha() {
        DynamicImage::ImageRgba8(picture.to_rgba8())
    } else {
        DynamicImage::ImageRgb8(picture.to_rgb8())
    }
}

fn encode(picture: &DynamicImage, format: RenditionFormat) -> AppResult<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        RenditionFormat::Jpeg => {
            let encoder =
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            eight_bit(picture, false)
                .write_with_encoder(encoder)
                .map_err(encoding_failed)?;
        }
        RenditionFormat::Webp => {
            let encoder = image::codecs::webp::WebPEncoder::new_lossless(&mut out);
            eight_bit(picture, true)
                .write_with_encoder(encoder)
                .map_err(encoding_failed)?;
        }
    }
    Ok(out)
}

fn encode_png(picture: &DynamicImage) -> AppResult<Vec<u8>> {
    let mut out = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new(&mut out);
    eight_bit(picture, true)
        .write_with_encoder(encoder)
        .map_err(encoding_failed)?;
    Ok(out)
}

/// A rendition of a stored original: at most `width` pixels wide (never enlarged), in
/// `format`. CPU-heavy: call it from a blocking thread.
pub fn render(original: &[u8], width: u32, format: RenditionFormat) -> AppResult<Vec<u8>> {
    let picture = image::load_from_memory(original)
        .map_err(|e| AppError::internal_caused("a stored image could not be decoded", e))?;
    let picture = if picture.width() > width {
        let height = ((u64::from(picture.height()) * u64::from(width)) / u64::from(picture.width()))
            .max(1) as u32;
        picture.resize_exact(width, height, image::imageops::FilterType::CatmullRom)
    } else {
        picture
    };
    encode(&picture, format)
}

/// A product's photo with its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPhoto {
    pub record: product_image::Model,
    pub file: stored_image::Model,
}

/// A cooperative's logo or cover with its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CooperativePicture {
    pub record: cooperative_image::Model,
    pub file: stored_image::Model,
}

/// The object store of image files, and the limits of uploads.
pub struct ImageStore {
    store: Result<Arc<dyn ObjectStore>, String>,
    /// Where the files are, for the log.
    pub location: String,
    pub limits: ImageLimits,
    /// Bounds the decoding and encoding running at once to the machine's cores.
    encoding: tokio::sync::Semaphore,
}

/// The folder a configuration keeps images in by default: beside the SQLite file
/// (`market-images` for `market.db`), or `./solidarity-market-images`.
pub fn default_folder(database_url: &str) -> std::path::PathBuf {
    let fallback = std::path::PathBuf::from("solidarity-market-images");
    let Some(rest) = database_url.strip_prefix("sqlite:") else {
        return fallback;
    };
    let path = rest.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or("");
    if path.is_empty() || path.starts_with(':') {
        return fallback;
    }
    let file = std::path::Path::new(path);
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "solidarity-market".into());
    file.with_file_name(format!("{stem}-images"))
}

fn open_store(config: &Config) -> Result<(Arc<dyn ObjectStore>, String), String> {
    let given = config.image_store.as_deref().map(str::trim);
    match given {
        Some(url) if url.starts_with("s3://") => {
            let store = object_store::aws::AmazonS3Builder::from_env()
                .with_url(url)
                .build()
                .map_err(|e| format!("IMAGE_STORE {url:?}: {e}"))?;
            Ok((Arc::new(store), url.to_owned()))
        }
        Some(url) if url.contains("://") && !url.starts_with("file://") => Err(format!(
            "IMAGE_STORE {url:?}: use a folder, file:///path or s3://bucket/prefix"
        )),
        other => {
            let folder = match other {
                Some(path) => std::path::PathBuf::from(path.trim_start_matches("file://")),
                None => default_folder(&config.database_url),
            };
            std::fs::create_dir_all(&folder)
                .map_err(|e| format!("cannot create the image folder {}: {e}", folder.display()))?;
            let store = object_store::local::LocalFileSystem::new_with_prefix(&folder)
                .map_err(|e| format!("image folder {}: {e}", folder.display()))?;
            Ok((Arc::new(store), folder.display().to_string()))
        }
    }
}

fn store_error(what: &'static str, err: object_store::Error) -> AppError {
    AppError::internal_caused(what, err)
}

fn original_key(hash: &str) -> StorePath {
    StorePath::from(format!("originals/{hash}"))
}

fn rendition_key(hash: &str, width: u32, format: RenditionFormat) -> StorePath {
    StorePath::from(format!("renditions/{hash}/{width}.{}", format.extension()))
}

impl ImageStore {
    /// The store `config` names (`IMAGE_STORE`), with its limits. A store that cannot be
    /// opened makes every image operation fail (and is logged); `check` says why.
    pub fn from_config(config: &Config) -> Self {
        let limits = ImageLimits {
            max_bytes: config.max_image_bytes,
            max_pixels: config.max_image_pixels,
        };
        let (store, location) = match open_store(config) {
            Ok((store, location)) => (Ok(store), location),
            Err(why) => {
                tracing::error!(error = %why, "the image store cannot be opened");
                (Err(why.clone()), why)
            }
        };
        Self::with(store, location, limits)
    }

    /// A store over `store` (tests use an in-memory one).
    pub fn with(
        store: Result<Arc<dyn ObjectStore>, String>,
        location: String,
        limits: ImageLimits,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            store,
            location,
            limits,
            encoding: tokio::sync::Semaphore::new(cores),
        }
    }

    /// Whether the store could be opened (why not, otherwise).
    pub fn check(&self) -> Result<(), String> {
        self.store.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    fn store(&self) -> AppResult<&Arc<dyn ObjectStore>> {
        self.store
            .as_ref()
            .map_err(|why| AppError::internal(format!("the image store is unavailable: {why}")))
    }

    /// Runs CPU-heavy image work on a blocking thread, at most one per core at a time.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let _permit = self
            .encoding
            .acquire()
            .await
            .map_err(|_| AppError::internal("the image encoder is closed"))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::internal_caused("image work failed", e))?
    }

    /// [`prepare`] on a blocking thread.
    pub async fn prepare(&self, data: Vec<u8>) -> AppResult<Prepared> {
        let limits = self.limits;
        self.blocking(move || prepare(&data, limits)).await
    }

    /// Writes an original (an idempotent put: its key is its content's hash).
    async fn put_original(&self, prepared: &Prepared) -> AppResult<()> {
        self.store()?
            .put(&original_key(&prepared.hash), prepared.bytes.clone().into())
            .await
            .map_err(|e| store_error("could not store an image", e))?;
        Ok(())
    }

    /// The rendition of file `hash` at a standard `width` in `format`: read from the
    /// store, or made from the original on first request and kept. `None` when there is
    /// no such file (or the width is not a standard one).
    pub async fn rendition(
        &self,
        hash: &str,
        width: u32,
        format: RenditionFormat,
    ) -> AppResult<Option<Bytes>> {
        if !is_hash(hash) || !WIDTHS.contains(&width) {
            return Ok(None);
        }
        let store = self.store()?.clone();
        let key = rendition_key(hash, width, format);
        match store.get(&key).await {
            Ok(found) => {
                return found
                    .bytes()
                    .await
                    .map(Some)
                    .map_err(|e| store_error("could not read a rendition", e));
            }
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(store_error("could not read a rendition", e)),
        }
        let original = match store.get(&original_key(hash)).await {
            Ok(found) => found
                .bytes()
                .await
                .map_err(|e| store_error("could not read an image", e))?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(store_error("could not read an image", e)),
        };
        let made = Bytes::from(
            self.blocking(move || render(&original, width, format))
                .await?,
        );
        store
            .put(&key, made.clone().into())
            .await
            .map_err(|e| store_error("could not store a rendition", e))?;
        Ok(Some(made))
    }

    /// Deletes the files of `hash` (original and renditions) unless a record uses them;
    /// see the module's documentation for why this cannot race with an upload.
    pub async fn delete_if_unused(&self, db: &DatabaseConnection, hash: &str) -> AppResult<()> {
        let txn = db::begin_write(db).await?;
        let result = async {
            let claimed = claim_row(
                &txn,
                &Prepared {
                    hash: hash.to_owned(),
                    format: "png",
                    width: 0,
                    height: 0,
                    bytes: Bytes::new(),
                },
            )
            .await?;
            if !claimed {
                return Ok(());
            }
            let store = self.store()?;
            let mut keys = vec![original_key(hash)];
            let prefix = StorePath::from(format!("renditions/{hash}"));
            let listed: Vec<_> = store
                .list(Some(&prefix))
                .try_collect()
                .await
                .map_err(|e| store_error("could not list renditions", e))?;
            keys.extend(listed.into_iter().map(|m| m.location));
            for key in keys {
                match store.delete(&key).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(store_error("could not delete an image", e)),
                }
            }
            stored_image::Entity::delete_many()
                .filter(stored_image::Column::Hash.eq(hash))
                .exec(&txn)
                .await?;
            Ok(())
        }
        .await;
        db::finish(txn, result).await
    }

    /// Runs `record` (which writes the records using the file) in the transaction of an
    /// upload: claims the file's row, writes the file, then `record`; on failure nothing
    /// is left (see the module's documentation).
    async fn upload<T>(
        &self,
        db: &DatabaseConnection,
        owner: Owner,
        prepared: &Prepared,
        record: impl AsyncFnOnce(&sea_orm::DatabaseTransaction, stored_image::Model) -> AppResult<T>,
    ) -> AppResult<T> {
        self.store()?;
        let txn = db::begin_write(db).await?;
        let mut wrote = false;
        let result = async {
            lock_owner(&txn, owner).await?;
            claim_row(&txn, prepared).await?;
            let file = locked_row(&txn, &prepared.hash).await?;
            let value = record(&txn, file).await?;
            self.put_original(prepared).await?;
            wrote = true;
            crate::domain::catalog_version::touch(&txn).await?;
            Ok(value)
        }
        .await;
        let failed = result.is_err();
        let outcome = db::finish(txn, result).await;
        if (failed || outcome.is_err())
            && wrote
            && let Err(err) = self.delete_if_unused(db, &prepared.hash).await
        {
            err.log();
        }
        outcome
    }

    /// Adds a photo to `product` (last in its order).
    pub async fn add_product_photo(
        &self,
        db: &DatabaseConnection,
        product_id: i32,
        prepared: &Prepared,
        alt: Option<String>,
    ) -> AppResult<ProductPhoto> {
        let alt = checked_alt(alt)?;
        self.upload(
            db,
            Owner::Product(product_id),
            prepared,
            async |txn, file| {
                let count = product_image::Entity::find()
                    .filter(product_image::Column::ProductId.eq(product_id))
                    .count(txn)
                    .await?;
                if count >= MAX_PER_PRODUCT {
                    return Err(AppError::user(
                        UserErrorCode::TooManyImages,
                        &["productId"],
                        format!(
                            "A product has at most {MAX_PER_PRODUCT} images; remove one first."
                        ),
                    ));
                }
                let record = product_image::ActiveModel {
                    product_id: Set(product_id),
                    stored_image_id: Set(file.id),
                    alt: Set(alt),
                    position: Set(count as i32),
                    created_at: Set(Utc::now()),
                    ..Default::default()
                }
                .insert(txn)
                .await?;
                Ok(ProductPhoto { record, file })
            },
        )
        .await
    }

    /// Gives `prepared` as first photo to those of `products` that have none (the demo
    /// catalog's pictures), in one transaction; returns how many got it.
    pub async fn add_to_products_without_photos(
        &self,
        db: &DatabaseConnection,
        prepared: &Prepared,
        products: &[i32],
        alt: &str,
    ) -> AppResult<usize> {
        let txn = db::begin_write(db).await?;
        let result = async {
            claim_row(&txn, prepared).await?;
            let file = locked_row(&txn, &prepared.hash).await?;
            let with_photos: std::collections::HashSet<i32> = product_image::Entity::find()
                .filter(product_image::Column::ProductId.is_in(products.to_vec()))
                .all(&txn)
                .await?
                .into_iter()
                .map(|p| p.product_id)
                .collect();
            let now = Utc::now();
            let records: Vec<_> = products
                .iter()
                .filter(|id| !with_photos.contains(id))
                .map(|&product_id| product_image::ActiveModel {
                    product_id: Set(product_id),
                    stored_image_id: Set(file.id),
                    alt: Set(alt.to_owned()),
                    position: Set(0),
                    created_at: Set(now),
                    ..Default::default()
                })
                .collect();
            let added = records.len();
            if added > 0 {
                product_image::Entity::insert_many(records)
                    .exec(&txn)
                    .await?;
            }
            self.put_original(prepared).await?;
            crate::domain::catalog_version::touch(&txn).await?;
            Ok(added)
        }
        .await;
        let failed = result.is_err();
        let outcome = db::finish(txn, result).await;
        if (failed || outcome.is_err())
            && let Err(err) = self.delete_if_unused(db, &prepared.hash).await
        {
            err.log();
        }
        outcome
    }

    /// Sets a cooperative's logo or cover (replacing the one it had).
    pub async fn set_cooperative_picture(
        &self,
        db: &DatabaseConnection,
        cooperative_id: i32,
        role: CooperativeImageRole,
        prepared: &Prepared,
        alt: Option<String>,
    ) -> AppResult<CooperativePicture> {
        let alt = checked_alt(alt)?;
        let mut replaced = None;
        let picture = self
            .upload(
                db,
                Owner::Cooperative(cooperative_id),
                prepared,
                async |txn, file| {
                    let current = cooperative_image::Entity::find()
                        .filter(cooperative_image::Column::CooperativeId.eq(cooperative_id))
                        .filter(cooperative_image::Column::Role.eq(role))
                        .one(txn)
                        .await?;
                    let record = match current {
                        Some(current) => {
                            let old_file = current.stored_image_id;
                            let mut model: cooperative_image::ActiveModel = current.into();
                            model.stored_image_id = Set(file.id);
                            model.alt = Set(alt);
                            model.created_at = Set(Utc::now());
                            let record = model.update(txn).await?;
                            if old_file != file.id {
                                replaced = release_row(txn, old_file).await?;
                            }
                            record
                        }
                        None => {
                            cooperative_image::ActiveModel {
                                cooperative_id: Set(cooperative_id),
                                role: Set(role),
                                stored_image_id: Set(file.id),
                                alt: Set(alt),
                                created_at: Set(Utc::now()),
                                ..Default::default()
                            }
                            .insert(txn)
                            .await?
                        }
                    };
                    Ok(CooperativePicture { record, file })
                },
            )
            .await?;
        if let Some(hash) = replaced {
            self.delete_if_unused(db, &hash).await?;
        }
        Ok(picture)
    }

    /// Removes a cooperative's logo or cover; `false` when it had none.
    pub async fn remove_cooperative_picture(
        &self,
        db: &DatabaseConnection,
        cooperative_id: i32,
        role: CooperativeImageRole,
    ) -> AppResult<bool> {
        let txn = db::begin_write(db).await?;
        let result = async {
            lock_owner(&txn, Owner::Cooperative(cooperative_id)).await?;
            let Some(current) = cooperative_image::Entity::find()
                .filter(cooperative_image::Column::CooperativeId.eq(cooperative_id))
                .filter(cooperative_image::Column::Role.eq(role))
                .one(&txn)
                .await?
            else {
                return Ok((false, None));
            };
            let file = current.stored_image_id;
            cooperative_image::Entity::delete_by_id(current.id)
                .exec(&txn)
                .await?;
            let unused = release_row(&txn, file).await?;
            crate::domain::catalog_version::touch(&txn).await?;
            Ok((true, unused))
        }
        .await;
        let (removed, unused) = db::finish(txn, result).await?;
        if let Some(hash) = unused {
            self.delete_if_unused(db, &hash).await?;
        }
        Ok(removed)
    }

    /// Removes a product's photo; the others close the gap in its order.
    pub async fn remove_product_photo(
        &self,
        db: &DatabaseConnection,
        photo: &product_image::Model,
    ) -> AppResult<()> {
        let txn = db::begin_write(db).await?;
        let result = async {
            lock_owner(&txn, Owner::Product(photo.product_id)).await?;
            product_image::Entity::delete_by_id(photo.id)
                .exec(&txn)
                .await?;
            let rest = photos_in_order(&txn, photo.product_id).await?;
            renumber(&txn, rest).await?;
            let unused = release_row(&txn, photo.stored_image_id).await?;
            crate::domain::catalog_version::touch(&txn).await?;
            Ok(unused)
        }
        .await;
        if let Some(hash) = db::finish(txn, result).await? {
            self.delete_if_unused(db, &hash).await?;
        }
        Ok(())
    }
}

/// An alternative text: one line of at most [`MAX_ALT`] characters (empty when omitted).
fn checked_alt(alt: Option<String>) -> AppResult<String> {
    let mut errors: Vec<UserError> = Vec::new();
    let alt = input::optional(
        &mut errors,
        "alt",
        "the alternative text",
        alt.as_deref(),
        MAX_ALT,
        false,
    );
    if errors.is_empty() {
        Ok(alt.unwrap_or_default())
    } else {
        Err(AppError::User(errors))
    }
}

/// Inserts the row of `prepared`'s file if there is none; `true` when it did. On
/// PostgreSQL the insert waits for any transaction inserting or deleting the same row.
async fn claim_row(db: &impl ConnectionTrait, prepared: &Prepared) -> AppResult<bool> {
    let insert = Query::insert()
        .into_table(stored_image::Entity)
        .columns([
            stored_image::Column::Hash,
            stored_image::Column::Format,
            stored_image::Column::Width,
            stored_image::Column::Height,
            stored_image::Column::ByteSize,
            stored_image::Column::CreatedAt,
        ])
        .values_panic([
            prepared.hash.clone().into(),
            prepared.format.into(),
            (prepared.width as i32).into(),
            (prepared.height as i32).into(),
            (prepared.bytes.len() as i64).into(),
            Utc::now().into(),
        ])
        .on_conflict(
            OnConflict::column(stored_image::Column::Hash)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    Ok(db.execute(&insert).await?.rows_affected() == 1)
}

/// The row of file `hash`, locked for this transaction on PostgreSQL (SQLite's write
/// transaction holds the whole database).
async fn locked_row(db: &impl ConnectionTrait, hash: &str) -> AppResult<stored_image::Model> {
    let mut select = stored_image::Entity::find().filter(stored_image::Column::Hash.eq(hash));
    if db.get_database_backend() == DbBackend::Postgres {
        select = select.lock_exclusive();
    }
    select
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("an image row vanished inside its transaction"))
}

/// Deletes the row of file `id` if no record uses it any more; its hash when it did (the
/// files are then deleted after the commit, by [`ImageStore::delete_if_unused`]).
async fn release_row(db: &impl ConnectionTrait, id: i32) -> AppResult<Option<String>> {
    let products = product_image::Entity::find()
        .filter(product_image::Column::StoredImageId.eq(id))
        .count(db)
        .await?;
    let cooperatives = cooperative_image::Entity::find()
        .filter(cooperative_image::Column::StoredImageId.eq(id))
        .count(db)
        .await?;
    if products + cooperatives > 0 {
        return Ok(None);
    }
    let Some(row) = stored_image::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    stored_image::Entity::delete_by_id(id).exec(db).await?;
    Ok(Some(row.hash))
}

/// Whose pictures a change is about.
#[derive(Debug, Clone, Copy)]
enum Owner {
    Product(i32),
    Cooperative(i32),
}

/// Holds the owner's row until the transaction ends, so that changes to its pictures
/// (which number them, or replace one) run one after the other; taken first, before any
/// file's row, so two changes never wait on each other in opposite orders. PostgreSQL
/// only: a SQLite write transaction holds the whole database already.
async fn lock_owner(db: &impl ConnectionTrait, owner: Owner) -> AppResult<()> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    match owner {
        Owner::Product(id) => {
            crate::entities::product::Entity::find_by_id(id)
                .lock_exclusive()
                .one(db)
                .await?;
        }
        Owner::Cooperative(id) => {
            crate::entities::cooperative::Entity::find_by_id(id)
                .lock_exclusive()
                .one(db)
                .await?;
        }
    }
    Ok(())
}

/// A product's photos in their order.
async fn photos_in_order(
    db: &impl ConnectionTrait,
    product_id: i32,
) -> AppResult<Vec<product_image::Model>> {
    Ok(product_image::Entity::find()
        .filter(product_image::Column::ProductId.eq(product_id))
        .order_by_asc(product_image::Column::Position)
        .order_by_asc(product_image::Column::Id)
        .all(db)
        .await?)
}

/// Gives `photos` the positions 0, 1, 2… in the order given.
async fn renumber(db: &impl ConnectionTrait, photos: Vec<product_image::Model>) -> AppResult<()> {
    for (position, photo) in photos.into_iter().enumerate() {
        if photo.position != position as i32 {
            let mut model: product_image::ActiveModel = photo.into();
            model.position = Set(position as i32);
            model.update(db).await?;
        }
    }
    Ok(())
}

/// A product's photo by id.
pub async fn product_photo(
    db: &impl ConnectionTrait,
    id: i32,
) -> AppResult<Option<product_image::Model>> {
    Ok(product_image::Entity::find_by_id(id).one(db).await?)
}

/// Changes a photo's alternative text and/or moves it to `position` (0 is first; a
/// position past the end moves it last).
pub async fn update_product_photo(
    db: &impl ConnectionTrait,
    photo: product_image::Model,
    alt: Option<String>,
    position: Option<i32>,
) -> AppResult<()> {
    let mut errors = Vec::new();
    let alt = match alt.map(|a| checked_alt(Some(a))).transpose() {
        Ok(alt) => alt,
        Err(AppError::User(mut e)) => {
            errors.append(&mut e);
            None
        }
        Err(other) => return Err(other),
    };
    if position.is_some_and(|p| p < 0) {
        errors.push(UserError::new(
            UserErrorCode::Invalid,
            &["position"],
            "A position is 0 (first) or more.",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }
    let (id, product_id) = (photo.id, photo.product_id);
    lock_owner(db, Owner::Product(product_id)).await?;
    if let Some(alt) = alt {
        let mut model: product_image::ActiveModel = photo.into();
        model.alt = Set(alt);
        model.update(db).await?;
    }
    if let Some(position) = position {
        let mut photos = photos_in_order(db, product_id).await?;
        if let Some(from) = photos.iter().position(|p| p.id == id) {
            let moved = photos.remove(from);
            let to = (position as usize).min(photos.len());
            photos.insert(to, moved);
        }
        renumber(db, photos).await?;
    }
    crate::domain::catalog_version::touch(db).await?;
    Ok(())
}

/// Puts a product's photos in the order of `ids`, which must name each of them once.
pub async fn reorder_product_photos(
    db: &impl ConnectionTrait,
    product_id: i32,
    ids: &[i32],
) -> AppResult<()> {
    lock_owner(db, Owner::Product(product_id)).await?;
    let photos = photos_in_order(db, product_id).await?;
    let mut given = ids.to_vec();
    given.sort_unstable();
    let mut current: Vec<i32> = photos.iter().map(|p| p.id).collect();
    current.sort_unstable();
    if given != current {
        return Err(AppError::user(
            UserErrorCode::Invalid,
            &["imageIds"],
            format!(
                "Give each of the product's {} images exactly once, in the new order.",
                photos.len()
            ),
        ));
    }
    let mut by_id: std::collections::HashMap<i32, product_image::Model> =
        photos.into_iter().map(|p| (p.id, p)).collect();
    let ordered = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    renumber(db, ordered).await?;
    crate::domain::catalog_version::touch(db).await?;
    Ok(())
}

/// The photos of `products`, in each product's order, with their files (one statement).
pub async fn photos_of_products(
    db: &impl ConnectionTrait,
    products: Vec<i32>,
) -> Result<Vec<ProductPhoto>, sea_orm::DbErr> {
    if products.is_empty() {
        return Ok(Vec::new());
    }
    let rows = product_image::Entity::find()
        .find_also_related(stored_image::Entity)
        .filter(product_image::Column::ProductId.is_in(products))
        .order_by_asc(product_image::Column::ProductId)
        .order_by_asc(product_image::Column::Position)
        .order_by_asc(product_image::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(record, file)| file.map(|file| ProductPhoto { record, file }))
        .collect())
}

/// The logos and covers of `cooperatives`, with their files (one statement).
pub async fn pictures_of_cooperatives(
    db: &impl ConnectionTrait,
    cooperatives: Vec<i32>,
) -> Result<Vec<CooperativePicture>, sea_orm::DbErr> {
    if cooperatives.is_empty() {
        return Ok(Vec::new());
    }
    let rows = cooperative_image::Entity::find()
        .find_also_related(stored_image::Entity)
        .filter(cooperative_image::Column::CooperativeId.is_in(cooperatives))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(record, file)| file.map(|file| CooperativePicture { record, file }))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_snap_to_the_nearest_standard_one() {
        assert_eq!(snap_width(-5), 160);
        assert_eq!(snap_width(100), 160);
        assert_eq!(snap_width(320), 480);
        assert_eq!(snap_width(600), 480);
        assert_eq!(snap_width(780), 1080);
        assert_eq!(snap_width(5000), 1080);
    }

    #[test]
    fn images_live_beside_the_sqlite_file() {
        assert_eq!(
            default_folder("sqlite://data/market.db?mode=rwc"),
            std::path::PathBuf::from("data/market-images")
        );
        assert_eq!(
            default_folder("postgres://u@h/db"),
            std::path::PathBuf::from("solidarity-market-images")
        );
    }

    #[test]
    fn an_s3_url_opens_without_touching_the_network() {
        let config = Config {
            image_store: Some("s3://market-images/prod".into()),
            ..Config::for_database("sqlite::memory:")
        };
        assert!(open_store(&config).is_ok());
    }
}
