//! Images: `ProductImage` (a product's photos) and `Image` (a cooperative's logo and
//! cover), their rendition URLs, and the portal's mutations that upload them through the
//! GraphQL multipart request specification (`Upload`), change, reorder and remove them.

use crate::error::{AppError, AppResult, Result, UserErrorCode};
use crate::graphql::context::ContextExt;
use crate::graphql::cooperative::Cooperative;
use crate::graphql::ids::{self, NodeType};
use crate::graphql::payload::respond;
use crate::graphql::portal::managed_product_for_images;
use crate::graphql::product::Product;
use crate::payload;
use async_graphql::{Context, Enum, ID, InputObject, Object, Upload};
use market_core::db;
use market_core::domain::enums as d;
use market_core::domain::images::{
    self as di, CooperativePicture, ImageStore, ProductPhoto, RenditionFormat,
};
use market_core::domain::reads;
use market_core::models::{product_image, stored_image};
use std::io::Read;
use std::sync::Arc;

/// The formats images are served in.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ImageFormat {
    /// JPEG: small for photographs, shown everywhere.
    #[default]
    Jpeg,
    /// WebP (lossless): best for illustrations and logos.
    Webp,
}

impl From<ImageFormat> for RenditionFormat {
    fn from(format: ImageFormat) -> Self {
        match format {
            ImageFormat::Jpeg => RenditionFormat::Jpeg,
            ImageFormat::Webp => RenditionFormat::Webp,
        }
    }
}

/// The URL of a rendition of `file`: `width` snapped to the nearest standard width (160,
/// 480 or 1080), never wider than the original.
fn rendition_url(
    ctx: &Context<'_>,
    file: &stored_image::Model,
    width: i32,
    format: ImageFormat,
) -> String {
    let width = di::snap_width(i64::from(width));
    format!(
        "{}{}",
        ctx.config().image_base_url.trim_end_matches('/'),
        di::rendition_path(&file.hash, width, format.into())
    )
}

/// A product's photo.
pub struct ProductImage(pub ProductPhoto);

/// A product's photo.
#[Object]
impl ProductImage {
    /// Global ID of the photo.
    async fn id(&self) -> ID {
        ids::encode(NodeType::ProductImage, self.0.record.id)
    }
    /// The URL of the photo at about `width` pixels wide, snapped to the nearest
    /// standard width (160, 480 or 1080; a picture is never enlarged), in `format`.
    /// The URL names the picture's content: it never changes, and its answer may be
    /// kept forever (`Cache-Control: immutable`).
    async fn url(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 480)] width: i32,
        #[graphql(default)] format: ImageFormat,
    ) -> String {
        rendition_url(ctx, &self.0.file, width, format)
    }
    /// Alternative text, for people who cannot see the picture (empty when none was given).
    async fn alt(&self) -> &str {
        &self.0.record.alt
    }
    /// Width of the original, in pixels.
    async fn width(&self) -> i32 {
        self.0.file.width
    }
    /// Height of the original, in pixels.
    async fn height(&self) -> i32 {
        self.0.file.height
    }
    /// Place in the product's photos: 0 is first (the featured image).
    async fn position(&self) -> i32 {
        self.0.record.position
    }
}

/// A cooperative's logo or cover picture.
pub struct Image(pub CooperativePicture);

/// A cooperative's logo or cover picture.
#[Object]
impl Image {
    /// The URL of the picture at about `width` pixels wide, snapped to the nearest
    /// standard width (160, 480 or 1080; never enlarged), in `format`; see
    /// `ProductImage.url`.
    async fn url(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 480)] width: i32,
        #[graphql(default)] format: ImageFormat,
    ) -> String {
        rendition_url(ctx, &self.0.file, width, format)
    }
    /// Alternative text (empty when none was given).
    async fn alt(&self) -> &str {
        &self.0.record.alt
    }
    /// Width of the original, in pixels.
    async fn width(&self) -> i32 {
        self.0.file.width
    }
    /// Height of the original, in pixels.
    async fn height(&self) -> i32 {
        self.0.file.height
    }
}

/// Which picture of a cooperative.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::CooperativeImageRole")]
pub enum CooperativeImageRole {
    /// The cooperative's logo.
    Logo,
    /// A wide picture shown at the top of the cooperative's page.
    Cover,
}

/// A photo to add to a product, sent as a file of a multipart request (the GraphQL
/// multipart request specification; send the header `Apollo-Require-Preflight: true`).
#[derive(InputObject)]
pub struct AddProductImageInput {
    /// The product (members: of their own cooperative).
    pub product_id: ID,
    /// A JPEG, PNG or WebP image of at most 10 MB and 40 million pixels (the market's
    /// limits may differ). It is re-encoded: its metadata (EXIF, GPS position) is dropped.
    pub file: Upload,
    /// Alternative text (at most 500 characters).
    pub alt: Option<String>,
}

/// Changes to a product's photo; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProductImageInput {
    /// The photo.
    pub id: ID,
    /// New alternative text (at most 500 characters).
    pub alt: Option<String>,
    /// New place among the product's photos (0 is first; past the end is last).
    pub position: Option<i32>,
}

/// A product's photo to remove.
#[derive(InputObject)]
pub struct RemoveProductImageInput {
    /// The photo.
    pub id: ID,
}

/// A new order for a product's photos.
#[derive(InputObject)]
pub struct ReorderProductImagesInput {
    /// The product.
    pub product_id: ID,
    /// Every photo of the product, once each, in the new order (the first is featured).
    pub image_ids: Vec<ID>,
}

/// A cooperative's new logo or cover, sent as a file of a multipart request.
#[derive(InputObject)]
pub struct SetCooperativeImageInput {
    /// The cooperative (members: their own).
    pub cooperative_id: ID,
    /// Logo or cover.
    pub role: CooperativeImageRole,
    /// A JPEG, PNG or WebP image (same limits and re-encoding as product photos).
    pub file: Upload,
    /// Alternative text (at most 500 characters).
    pub alt: Option<String>,
}

/// A cooperative's logo or cover to remove.
#[derive(InputObject)]
pub struct RemoveCooperativeImageInput {
    /// The cooperative (members: their own).
    pub cooperative_id: ID,
    /// Logo or cover.
    pub role: CooperativeImageRole,
}

payload!(
    /// The result of `addProductImage`.
    AddProductImagePayload {
        /// The photo added (last in the product's order).
        image: ProductImage
    }
);

payload!(
    /// The result of `updateProductImage`, `removeProductImage` and
    /// `reorderProductImages`.
    ProductImagesPayload {
        /// The product, with its photos as they now are.
        product: Product
    }
);

payload!(
    /// The result of `setCooperativeImage` and `removeCooperativeImage`.
    CooperativeImagePayload {
        /// The cooperative, with its logo and cover as they now are.
        cooperative: Cooperative
    }
);

fn images<'a>(ctx: &'a Context<'_>) -> &'a Arc<ImageStore> {
    ctx.data_unchecked::<Arc<ImageStore>>()
}

/// Reads an uploaded file (at most one byte past the limit: enough to refuse it) and
/// checks it (see `domain::images::prepare`), off the async threads.
async fn prepared_upload(ctx: &Context<'_>, file: &Upload) -> AppResult<di::Prepared> {
    let value = file
        .value(ctx)
        .map_err(|_| AppError::bad_input("the file of the request is missing"))?;
    let store = images(ctx);
    let max = store.limits.max_bytes;
    let data = tokio::task::spawn_blocking(move || {
        let mut data = Vec::new();
        value
            .into_read()
            .take(max as u64 + 1)
            .read_to_end(&mut data)
            .map(|_| data)
    })
    .await
    .map_err(|e| AppError::internal_caused("could not read an upload", e))?
    .map_err(|e| AppError::internal_caused("could not read an upload", e))?;
    if data.len() > max {
        return Err(AppError::user(
            UserErrorCode::ImageTooLarge,
            &["file"],
            format!("The file is larger than {max} bytes, the largest image accepted."),
        ));
    }
    store.prepare(data).await
}

/// The photo `id`, after checking the viewer may change its product's photos.
async fn managed_photo(ctx: &Context<'_>, id: &ID) -> AppResult<product_image::Model> {
    let id = ids::decode::<i32>(id, NodeType::ProductImage)?;
    ctx.viewer().require_user()?;
    let photo = di::product_photo(ctx.db(), id).await?;
    let product = match &photo {
        Some(p) => reads::product(ctx.db(), p.product_id).await?,
        None => None,
    };
    ctx.viewer()
        .require_product_image_editor(product.as_ref().map(|p| p.cooperative_id))?;
    photo.ok_or_else(|| AppError::NotFound("No such product image.".into()))
}

async fn product_payload(ctx: &Context<'_>, product_id: i32) -> AppResult<ProductImagesPayload> {
    let product = reads::product(ctx.db(), product_id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such product.".into()))?;
    Ok(ProductImagesPayload::ok(Product(product)))
}

async fn managed_cooperative(ctx: &Context<'_>, id: &ID) -> AppResult<Cooperative> {
    let id = ids::decode::<i32>(id, NodeType::Cooperative)?;
    ctx.viewer().require_cooperative_image_editor(id)?;
    reads::cooperative(ctx.db(), id)
        .await?
        .map(Cooperative)
        .ok_or_else(|| AppError::NotFound("No such cooperative.".into()))
}

/// Image mutations of the portal.
#[derive(Default)]
pub struct ImagesMutation;

/// Image mutations of the portal.
#[Object]
impl ImagesMutation {
    /// Adds a photo to a product, last in its order (members: their own cooperative's
    /// products). The file is checked by its content — a JPEG, PNG or WebP image within
    /// the size and pixel limits (`NOT_AN_IMAGE`, `IMAGE_TOO_LARGE`,
    /// `IMAGE_TOO_MANY_PIXELS`) — and re-encoded without its metadata.
    async fn add_product_image(
        &self,
        ctx: &Context<'_>,
        input: AddProductImageInput,
    ) -> Result<AddProductImagePayload> {
        let product = managed_product_for_images(ctx, &input.product_id).await?;
        let prepared = match prepared_upload(ctx, &input.file).await {
            Ok(p) => p,
            Err(e) => return respond(Err(e), AddProductImagePayload::ok),
        };
        let result = images(ctx)
            .add_product_photo(ctx.db(), product.id, &prepared, input.alt)
            .await;
        respond(result, |photo| {
            AddProductImagePayload::ok(ProductImage(photo))
        })
    }

    /// Changes a product photo's alternative text or place.
    async fn update_product_image(
        &self,
        ctx: &Context<'_>,
        input: UpdateProductImageInput,
    ) -> Result<ProductImagesPayload> {
        let photo = managed_photo(ctx, &input.id).await?;
        let product_id = photo.product_id;
        let txn = db::begin_write(ctx.db()).await?;
        let result = di::update_product_photo(&txn, photo, input.alt, input.position).await;
        match db::finish(txn, result).await {
            Ok(()) => Ok(product_payload(ctx, product_id).await?),
            Err(e) => respond(Err(e), ProductImagesPayload::ok),
        }
    }

    /// Removes a product's photo (the file goes too when nothing else uses it).
    async fn remove_product_image(
        &self,
        ctx: &Context<'_>,
        input: RemoveProductImageInput,
    ) -> Result<ProductImagesPayload> {
        let photo = managed_photo(ctx, &input.id).await?;
        images(ctx).remove_product_photo(ctx.db(), &photo).await?;
        Ok(product_payload(ctx, photo.product_id).await?)
    }

    /// Puts a product's photos in a new order; `imageIds` names each of them once
    /// (`INVALID` otherwise).
    async fn reorder_product_images(
        &self,
        ctx: &Context<'_>,
        input: ReorderProductImagesInput,
    ) -> Result<ProductImagesPayload> {
        let product = managed_product_for_images(ctx, &input.product_id).await?;
        let mut ids_given = Vec::with_capacity(input.image_ids.len());
        for id in &input.image_ids {
            ids_given.push(ids::decode::<i32>(id, NodeType::ProductImage)?);
        }
        let txn = db::begin_write(ctx.db()).await?;
        let result = di::reorder_product_photos(&txn, product.id, &ids_given).await;
        match db::finish(txn, result).await {
            Ok(()) => Ok(product_payload(ctx, product.id).await?),
            Err(e) => respond(Err(e), ProductImagesPayload::ok),
        }
    }

    /// Sets a cooperative's logo or cover, replacing the one it had (members: their own
    /// cooperative). The file is checked and re-encoded like a product photo.
    async fn set_cooperative_image(
        &self,
        ctx: &Context<'_>,
        input: SetCooperativeImageInput,
    ) -> Result<CooperativeImagePayload> {
        let cooperative = managed_cooperative(ctx, &input.cooperative_id).await?;
        let prepared = match prepared_upload(ctx, &input.file).await {
            Ok(p) => p,
            Err(e) => return respond(Err(e), CooperativeImagePayload::ok),
        };
        let result = images(ctx)
            .set_cooperative_picture(
                ctx.db(),
                cooperative.0.id,
                input.role.into(),
                &prepared,
                input.alt,
            )
            .await;
        respond(result, |_| CooperativeImagePayload::ok(cooperative))
    }

    /// Removes a cooperative's logo or cover (nothing happens when it has none).
    async fn remove_cooperative_image(
        &self,
        ctx: &Context<'_>,
        input: RemoveCooperativeImageInput,
    ) -> Result<CooperativeImagePayload> {
        let cooperative = managed_cooperative(ctx, &input.cooperative_id).await?;
        images(ctx)
            .remove_cooperative_picture(ctx.db(), cooperative.0.id, input.role.into())
            .await?;
        Ok(CooperativeImagePayload::ok(cooperative))
    }
}
