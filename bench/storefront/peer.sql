-- The peer's view of the catalog: what PostGraphile 4 serves in bench/storefront.sh.
--
-- PostGraphile exposes a PostgreSQL schema as it is. Our tables hold more than the
-- storefront may see (unsellable products, contact details, payout accounts, expired
-- certifications), so the peer gets a schema of its own, `storefront_peer`, made of views
-- over the application's tables, with smart comments (@primaryKey, @foreignKey, @unique)
-- giving PostGraphile the keys and relations that views lack. Nothing here is used by the
-- application; the script drops and recreates the schema on every run.
--
-- The rules are the application's (src/domain/compliance.rs), written in the same
-- uncorrelated form so that PostgreSQL can plan a page as an index walk that stops early:
--   * a product is listed when it is active, its cooperative is not suspended, and — for
--     kinds that need one (TERROIR: ONSSA authorization or approval; COSMETICS: DMP
--     authorization or ISO 22716) — a valid certification of an accepted type held by its
--     cooperative covers it (covers all the cooperative's products, or lists this one);
--   * "valid" = not revoked, issued on or before today, not past its expiry date, today
--     being the date in the market's time zone (Africa/Casablanca, the server's default);
--   * a product's certifications are its cooperative's valid ones that cover it, by id;
--   * cooperatives are all listed (the API's `cooperatives` has no default filter), their
--     products are the sellable ones.
-- The script checks that both servers answer every scenario with the same rows in the
-- same order, so a drift between these views and the application fails the run.

DROP SCHEMA IF EXISTS storefront_peer CASCADE;
CREATE SCHEMA storefront_peer;

CREATE VIEW storefront_peer.region AS
SELECT code, name, position
FROM public.regions;
COMMENT ON VIEW storefront_peer.region IS E'@primaryKey code';

CREATE VIEW storefront_peer.segment AS
SELECT id, slug, name, kind, position
FROM public.segments;
COMMENT ON VIEW storefront_peer.segment IS E'@primaryKey id\n@unique slug';

-- Public columns only: no contact details, payout account or commission rate.
CREATE VIEW storefront_peer.cooperative AS
SELECT id, slug, name, description, kind, region_code, founded_on, member_count,
       women_led, youth_led, listed_since, status
FROM public.cooperatives;
COMMENT ON VIEW storefront_peer.cooperative IS
  E'@primaryKey id\n@unique slug\n@foreignKey (region_code) references storefront_peer.region (code)|@fieldName region|@foreignFieldName cooperatives';

-- Sellable products. `cooperative_kind` and `region_code` are there for the filtered page
-- (PostGraphile's `condition` filters on a type's own columns); the LEFT JOIN lets
-- PostgreSQL drop the join when a query uses neither. `price_cents` is what pages sort by,
-- `price_amount` what they show ("12.50", like the API's Money.amount).
CREATE VIEW storefront_peer.product AS
SELECT p.id, p.sku, p.name, p.format, p.description,
       p.price_cents::bigint AS price_cents,
       (p.price_cents / 100.0)::numeric(14, 2) AS price_amount,
       'MAD'::text AS currency_code,
       p.stock, p.stock > 0 AS in_stock,
       p.segment_id, p.cooperative_id,
       co.kind AS cooperative_kind, co.region_code,
       p.search_text, p.created_at
FROM public.products p
LEFT JOIN public.cooperatives co ON co.id = p.cooperative_id
WHERE p.active
  AND (
    -- kinds that need no certification (HANDICRAFTS)
    p.cooperative_id IN (
      SELECT k.id FROM public.cooperatives k
      WHERE k.status <> 'SUSPENDED' AND k.kind NOT IN ('TERROIR', 'COSMETICS'))
    -- a valid, accepted certification covering all the cooperative's products
    OR p.cooperative_id IN (
      SELECT c.cooperative_id
      FROM public.certifications c
      JOIN public.cooperatives h ON h.id = c.cooperative_id
      WHERE c.covers_all_products
        AND h.status <> 'SUSPENDED'
        AND ((h.kind = 'TERROIR' AND c.type IN ('ONSSA_AUTHORIZATION', 'ONSSA_APPROVAL'))
          OR (h.kind = 'COSMETICS' AND c.type IN ('DMP_AUTHORIZATION', 'ISO_22716')))
        AND c.revoked_at IS NULL
        AND c.issued_on <= (now() AT TIME ZONE 'Africa/Casablanca')::date
        AND (c.expires_on IS NULL OR c.expires_on >= (now() AT TIME ZONE 'Africa/Casablanca')::date))
    -- a valid, accepted certification listing this product
    OR (p.id, p.cooperative_id) IN (
      SELECT cp.product_id, c.cooperative_id
      FROM public.certifications c
      JOIN public.cooperatives h ON h.id = c.cooperative_id
      JOIN public.certification_products cp ON cp.certification_id = c.id
      WHERE h.status <> 'SUSPENDED'
        AND ((h.kind = 'TERROIR' AND c.type IN ('ONSSA_AUTHORIZATION', 'ONSSA_APPROVAL'))
          OR (h.kind = 'COSMETICS' AND c.type IN ('DMP_AUTHORIZATION', 'ISO_22716')))
        AND c.revoked_at IS NULL
        AND c.issued_on <= (now() AT TIME ZONE 'Africa/Casablanca')::date
        AND (c.expires_on IS NULL OR c.expires_on >= (now() AT TIME ZONE 'Africa/Casablanca')::date))
  );
COMMENT ON VIEW storefront_peer.product IS
  E'@primaryKey id\n@unique sku\n@foreignKey (cooperative_id) references storefront_peer.cooperative (id)|@fieldName cooperative|@foreignFieldName products\n@foreignKey (segment_id) references storefront_peer.segment (id)|@fieldName segment|@foreignFieldName products';
COMMENT ON COLUMN storefront_peer.product.search_text IS E'@omit';

-- Certifications of a product: its cooperative's valid certifications that cover it.
CREATE VIEW storefront_peer.product_certification AS
SELECT p.id AS product_id, c.id AS certification_id, c.type, c.number, c.issuer,
       c.issued_on, c.expires_on, c.covers_all_products
FROM public.products p
JOIN public.certifications c ON c.cooperative_id = p.cooperative_id
WHERE (c.covers_all_products
       OR EXISTS (SELECT 1 FROM public.certification_products cp
                  WHERE cp.certification_id = c.id AND cp.product_id = p.id))
  AND c.revoked_at IS NULL
  AND c.issued_on <= (now() AT TIME ZONE 'Africa/Casablanca')::date
  AND (c.expires_on IS NULL OR c.expires_on >= (now() AT TIME ZONE 'Africa/Casablanca')::date);
COMMENT ON VIEW storefront_peer.product_certification IS
  E'@primaryKey product_id,certification_id\n@foreignKey (product_id) references storefront_peer.product (id)|@fieldName product|@foreignFieldName certifications';

-- The search page: the API's `filter: { search }` — the words in the product's name,
-- format or description, or in its cooperative's name (`search_text`, stored lower-case
-- and without accents by the application; the benchmark's term is plain lower-case
-- ASCII, which the application's normalization leaves as it is). `@sortable` lets the
-- query order it like any list.
CREATE FUNCTION storefront_peer.search_products(search text)
RETURNS SETOF storefront_peer.product
LANGUAGE sql STABLE
AS $$
  SELECT p.*
  FROM storefront_peer.product p
  WHERE p.search_text LIKE '%' || replace(replace(replace(lower(search), '\', '\\'), '%', '\%'), '_', '\_') || '%'
     OR p.cooperative_id IN (
       SELECT k.id FROM public.cooperatives k
       WHERE k.search_text LIKE '%' || replace(replace(replace(lower(search), '\', '\\'), '%', '\%'), '_', '\_') || '%')
$$;
COMMENT ON FUNCTION storefront_peer.search_products(text) IS E'@sortable';
