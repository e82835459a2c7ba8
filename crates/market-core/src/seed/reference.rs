//! The reference tables every database needs: the twelve regions of Morocco with their
//! provinces and prefectures, and the product segments.

use crate::domain::enums::CooperativeKind::{self, Cosmetics, Handicrafts, Terroir};

/// A region of the 2015 territorial division, keyed by its ISO 3166-2 code.
pub(super) struct RegionSeed {
    pub code: &'static str,
    pub name: &'static str,
    /// Its provinces and prefectures, as the market writes them.
    pub provinces: &'static [&'static str],
}

/// The twelve regions, in the order of their ISO codes (which is also their `position`).
pub(super) const REGIONS: &[RegionSeed] = &[
    RegionSeed {
        code: "MA-01",
        name: "Tanger–Tétouan–Al Hoceïma",
        provinces: &[
            "Tanger-Assilah",
            "M'diq-Fnideq",
            "Tétouan",
            "Fahs-Anjra",
            "Larache",
            "Al Hoceïma",
            "Chefchaouen",
            "Ouezzane",
        ],
    },
    RegionSeed {
        code: "MA-02",
        name: "Oriental",
        provinces: &[
            "Oujda-Angad",
            "Nador",
            "Driouch",
            "Jerada",
            "Berkane",
            "Taourirt",
            "Guercif",
            "Figuig",
        ],
    },
    RegionSeed {
        code: "MA-03",
        name: "Fès–Meknès",
        provinces: &[
            "Fès",
            "Meknès",
            "El Hajeb",
            "Ifrane",
            "Moulay Yacoub",
            "Sefrou",
            "Boulemane",
            "Taounate",
            "Taza",
        ],
    },
    RegionSeed {
        code: "MA-04",
        name: "Rabat–Salé–Kénitra",
        provinces: &[
            "Rabat",
            "Salé",
            "Skhirate-Témara",
            "Kénitra",
            "Khémisset",
            "Sidi Kacem",
            "Sidi Slimane",
        ],
    },
    RegionSeed {
        code: "MA-05",
        name: "Béni Mellal–Khénifra",
        provinces: &[
            "Béni Mellal",
            "Azilal",
            "Fquih Ben Salah",
            "Khénifra",
            "Khouribga",
        ],
    },
    RegionSeed {
        code: "MA-06",
        name: "Casablanca–Settat",
        provinces: &[
            "Casablanca",
            "Mohammédia",
            "El Jadida",
            "Nouaceur",
            "Médiouna",
            "Benslimane",
            "Berrechid",
            "Settat",
            "Sidi Bennour",
        ],
    },
    RegionSeed {
        code: "MA-07",
        name: "Marrakech–Safi",
        provinces: &[
            "Marrakech",
            "Chichaoua",
            "Al Haouz",
            "El Kelâa des Sraghna",
            "Essaouira",
            "Rehamna",
            "Safi",
            "Youssoufia",
        ],
    },
    RegionSeed {
        code: "MA-08",
        name: "Drâa–Tafilalet",
        provinces: &["Errachidia", "Ouarzazate", "Midelt", "Tinghir", "Zagora"],
    },
    RegionSeed {
        code: "MA-09",
        name: "Souss–Massa",
        provinces: &[
            "Agadir Ida-Outanane",
            "Inezgane-Aït Melloul",
            "Chtouka Aït Baha",
            "Taroudant",
            "Tiznit",
            "Tata",
        ],
    },
    RegionSeed {
        code: "MA-10",
        name: "Guelmim–Oued Noun",
        provinces: &["Guelmim", "Assa-Zag", "Tan-Tan", "Sidi Ifni"],
    },
    RegionSeed {
        code: "MA-11",
        name: "Laâyoune–Sakia El Hamra",
        provinces: &["Laâyoune", "Boujdour", "Tarfaya", "Es-Semara"],
    },
    RegionSeed {
        code: "MA-12",
        name: "Dakhla–Oued Ed-Dahab",
        provinces: &["Oued Ed-Dahab", "Aousserd"],
    },
];

/// A product segment. `sku_prefix` is not stored: it only builds the demo SKUs.
pub(super) struct SegmentSeed {
    pub slug: &'static str,
    pub name: &'static str,
    pub kind: CooperativeKind,
    pub sku_prefix: &'static str,
}

const fn segment(
    slug: &'static str,
    name: &'static str,
    kind: CooperativeKind,
    sku_prefix: &'static str,
) -> SegmentSeed {
    SegmentSeed {
        slug,
        name,
        kind,
        sku_prefix,
    }
}

/// The segments, grouped by kind; their index + 1 is their `position`.
pub(super) const SEGMENTS: &[SegmentSeed] = &[
    segment("olive-oil", "Olive oil", Terroir, "OLV"),
    segment("olives", "Olives", Terroir, "OLI"),
    segment("preserves", "Preserves and jams", Terroir, "PRS"),
    segment("vinegar", "Vinegar", Terroir, "VIN"),
    segment("honey", "Honey", Terroir, "HON"),
    segment("spices", "Spices and saffron", Terroir, "SPC"),
    segment("argan", "Culinary argan oil", Terroir, "ARG"),
    segment("couscous-semolina", "Couscous and semolina", Terroir, "CSC"),
    segment("dates", "Dates", Terroir, "DAT"),
    segment("herbs-teas", "Herbs and teas", Terroir, "HRB"),
    segment("amlou-spreads", "Amlou and spreads", Terroir, "AML"),
    segment("seeds-grains", "Seeds, nuts and grains", Terroir, "SDS"),
    segment("seafood", "Seafood preserves", Terroir, "SEA"),
    segment("camel-milk", "Camel milk products", Terroir, "CML"),
    segment("cosmetics", "Natural cosmetics", Cosmetics, "COS"),
    segment("argan-cosmetics", "Argan cosmetics", Cosmetics, "ARC"),
    segment("soaps-hammam", "Soaps and hammam", Cosmetics, "SOP"),
    segment("rose-water", "Rose water", Cosmetics, "ROS"),
    segment("gift-sets", "Gift sets", Cosmetics, "GFT"),
    segment("pottery", "Pottery and zellige", Handicrafts, "POT"),
    segment("weaving", "Rugs and textiles", Handicrafts, "WEA"),
    segment("leather", "Leather goods", Handicrafts, "LEA"),
    segment("basketry", "Basketry", Handicrafts, "BSK"),
    segment("woodwork", "Woodwork", Handicrafts, "WOD"),
    segment("jewelry", "Silver jewellery", Handicrafts, "JWL"),
];

/// The segment with this slug, if it is one of ours.
pub(super) fn segment_seed(slug: &str) -> Option<&'static SegmentSeed> {
    SEGMENTS.iter().find(|s| s.slug == slug)
}
