"""Names and query phrases for SynthCity: place names, road names, clutter POIs, class and function wording.

Names are drawn from class-specific templates over several hundred stems (English compounds, pinyin-like
two-syllable names, saints, surnames), so collisions across a split of thousands of places are rare.
Some names carry look-alike words on purpose: a cemetery may be a "Memorial Park", a parking lot a
"Park & Ride", a residential compound a "... Garden", and road names mention schools and hospitals.

>>> import numpy as np
>>> g = NameGenerator(np.random.default_rng(0))
>>> name = g.place("school")
>>> name == g.place("school")
False
"""

from __future__ import annotations

import numpy as np


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_TREES = _words(
    "Maple Oak Cedar Willow Pine Birch Elm Ash Aspen Laurel Magnolia Juniper Hazel Alder Poplar Cypress Linden "
    "Chestnut Walnut Holly Rowan Sycamore Acacia Bamboo Lotus Orchid Jasmine Peony Camellia Osmanthus Plum Peach "
    "Cherry Apricot Ginkgo Banyan Camphor Redwood Larch Hawthorn"
)
_NATURE = _words(
    "Grove Brook Field Hill Ridge Meadow Vale Spring Lake River Bay Harbor Creek Glen Heights Park Wood Forest "
    "Stone Rock Bridge Gate Ford Point Shore Crest Hollow Terrace Dale Marsh Island Valley Garden Orchard Springs "
    "Cove Landing Mill Court"
)
_ADJ = _words(
    "Golden Silver Jade Pearl Crystal Sunny Bright Green Blue Red White Royal Grand Harmony Peaceful Happy Rising "
    "Evergreen Starlight Moonlight Sunrise Sunset Rainbow Spring Autumn Summer Winter Morning Eastern Western "
    "Northern Southern Central Upper Lower New Old Fragrant Lucky Prosperous Tranquil Splendid"
)
_ANIMALS = _words("Panda Dolphin Swallow Crane Phoenix Dragon Tiger Rabbit Deer Bee Lark Robin Koala Otter Fox Owl")
_SYL = _words(
    "an bai bei bin chang chen cheng chun da dong fang feng fu gang gu guang hai han he hong hu hua huai jia "
    "jiang jin jing kang lan le li lian lin ling long lu luo mei ming nan ning ping qi qian qing rui shan sheng "
    "shi shu song tai tian ting wan wei wen xi xia xiang xin xing xiu ya yan yang yi yong yu yuan yue ze zhang "
    "zhao zhen zheng zhong zhou"
)
_SAINTS = _words(
    "Agnes Anne Anthony Bernard Brigid Catherine Clare Columba David Dominic Edmund Francis George Gregory Helen "
    "Hilda James John Joseph Jude Luke Margaret Mark Martin Mary Michael Monica Patrick Paul Peter Stephen Teresa "
    "Thomas Vincent"
)
_SURNAMES = _words(
    "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo Gao Smith Taylor Brown Wilson "
    "Evans Walker Wright Green Hall Wood Harris Clarke Turner Hill Moore Ward Baker Carter Morgan Hughes"
)
_PRODUCTS = _words(
    "Textile Steel Machinery Electronics Auto Parts Paper Glass Cement Chemical Pharmaceutical Food Furniture "
    "Plastics Garment Battery Ceramics Printing Brewery Tobacco Cable"
)
_BRANDS = _words(
    "Joy Vista Galaxy Metro Orbit Summit Nova Apex Zenith Aurora Harmony Infinity Horizon Pacific Atlas Unity "
    "Lumina Vertex Crown Radiant Everbright Sino Triumph Sterling"
)
_SUBJECTS = _words("Technology Science Medicine Finance Arts Engineering Agriculture Foreign Studies Law Commerce")
_DIRS = ("North", "South", "East", "West", "Central")
_ROAD_TYPES = ("Road", "Road", "Street", "Avenue", "Boulevard", "Lu", "Dadao", "Lane", "Way")


class NameGenerator:
    """Draw names from a numpy Generator; names already handed out in this scene are never repeated."""

    def __init__(self, rng: np.random.Generator) -> None:
        """Create a generator that draws from ``rng`` and remembers the names it gave."""
        self.rng = rng
        self.used: set[str] = set()

    def _pick(self, words: list[str] | tuple[str, ...]) -> str:
        return str(words[int(self.rng.integers(len(words)))])

    def _pinyin(self) -> str:
        a, b = self._pick(_SYL), self._pick(_SYL)
        return (a + b).capitalize()

    def _compound(self) -> str:
        first = self._pick(_TREES) if self.rng.random() < 0.5 else self._pick(_ADJ)
        return f"{first} {self._pick(_NATURE)}"

    def place_stem(self) -> str:
        """Return a place-like stem: "Maple Grove", "Huaxin", "Jinhe Lake", "Lanting East", "Cedarbrook"."""
        r = self.rng.random()
        if r < 0.25:
            return self._compound()
        if r < 0.5:
            return self._pinyin()
        if r < 0.8:
            return f"{self._pinyin()} {self._pick(_NATURE)}"
        if r < 0.95:
            return f"{self._pinyin()} {self._pick(_DIRS)}"
        return self._pick(_TREES) + self._pick(("wood", "field", "brook", "dale", "ton", "ford", "mere", "side"))

    def _unique(self, make) -> str:
        for _ in range(50):
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name
        name = f"{make()} {len(self.used) + 2}"
        self.used.add(name)
        return name

    def place(self, cls: str) -> str:
        """Return a fresh name for a place of class ``cls``."""
        return self._unique(lambda: _PLACE_TEMPLATES[cls](self))

    def road(self) -> str:
        """Return a fresh road name (some mention schools or hospitals, as real ones do)."""

        def make() -> str:
            r = self.rng.random()
            if r < 0.12:
                return f"{self._pick(('School', 'Hospital', 'University', 'Park', 'Station', 'Garden'))} Road"
            stem = self._pinyin() if r < 0.6 else self._pick(_TREES + _ADJ)
            return f"{stem} {self._pick(_ROAD_TYPES)}"

        return self._unique(make)

    def clutter_poi(self) -> tuple[str, str]:
        """Return (name, category) of a POI that is no socio-class: shops, food, banks, hotels, bus stops."""
        cat = self._pick(("restaurant", "cafe", "hotel", "bank", "shop", "bus_stop", "pharmacy", "supermarket"))
        stem = self.place_stem()

        def make() -> str:
            if cat == "restaurant":
                return f"{self._pick(_SURNAMES)}'s {self._pick(('Noodle House', 'Kitchen', 'Dumplings', 'Grill'))}"
            if cat == "cafe":
                return f"{self._pick(_BRANDS)} Coffee"
            if cat == "hotel":
                return f"{self._pick(('Park', 'Garden', stem, self._pick(_BRANDS)))} Hotel"
            if cat == "bank":
                return f"{self._pick(_BRANDS)} Bank {stem} Branch"
            if cat == "bus_stop":
                return f"{stem} Bus Stop"
            if cat == "pharmacy":
                return f"{self._pick(_SURNAMES)} Pharmacy"
            if cat == "supermarket":
                return f"{self._pick(_BRANDS)} Supermarket"
            return f"{stem} {self._pick(('Bakery', 'Florist', 'Hardware', 'Books', 'Fruit Shop'))}"

        return self._unique(make), cat


def _school(g: NameGenerator) -> str:
    r = g.rng.random()
    kind = g._pick(("Primary School", "Middle School", "High School", "Secondary School", "Elementary School"))
    if r < 0.55:
        return f"{g.place_stem()} {kind}"
    if r < 0.75:
        return f"{g.place_stem()} No. {int(g.rng.integers(1, 40))} {kind}"
    if r < 0.88:
        return f"{g.place_stem()} {g._pick(('Experimental', 'Foreign Language', 'Bilingual'))} School"
    return f"St. {g._pick(_SAINTS)}'s {g._pick(('School', 'Primary School', 'College School'))} {g._pinyin()}"


def _university(g: NameGenerator) -> str:
    r = g.rng.random()
    stem = g.place_stem()
    if r < 0.35:
        return f"{stem} University"
    if r < 0.55:
        return f"University of {stem}"
    if r < 0.75:
        return f"{stem} {g._pick(('Institute of Technology', 'Normal University', 'Polytechnic University'))}"
    return f"{stem} University of {g._pick(_SUBJECTS)}"


def _kindergarten(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.4:
        return f"{g._pinyin()} {g._pick(_ADJ)} {g._pick(_ANIMALS)} Kindergarten"
    if r < 0.7:
        return f"{g.place_stem()} Kindergarten"
    return f"Little {g._pick(_ANIMALS)} {g._pick(('Nursery', 'Preschool', 'Kindergarten'))} {g._pinyin()}"


def _hospital(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.5:
        kind = g._pick(("People's", "General", "Central", "Memorial", "Children's", "Women's", "Municipal"))
        return f"{g.place_stem()} {kind} Hospital"
    if r < 0.7:
        return f"St. {g._pick(_SAINTS)}'s Hospital {g._pinyin()}"
    if r < 0.85:
        return f"{g.place_stem()} Hospital of Traditional Chinese Medicine"
    return f"{g.place_stem()} {g._pick(('Medical Center', 'University Hospital'))}"


def _clinic(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.4:
        return f"{g.place_stem()} Community Health Centre"
    if r < 0.7:
        return f"{g._pick(_SURNAMES)} {g._pick(('Family', 'Dental', 'Eye', 'Medical'))} Clinic {g._pinyin()}"
    return f"{g.place_stem()} {g._pick(('Clinic', 'Health Center', 'Outpatient Clinic'))}"


def _park(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.5:
        return f"{g.place_stem()} Park"
    if r < 0.7:
        return f"{g.place_stem()} {g._pick(('Wetland Park', 'Forest Park', 'Gardens', 'Botanical Garden'))}"
    if r < 0.77:
        return f"{g._pick(_ADJ)} {g._pick(_TREES)} Park"
    return f"{g._pinyin()} {g._pick(('Riverside', 'Lakeside', 'Memorial', 'Cultural', 'Sculpture'))} Park"


def _zoo(g: NameGenerator) -> str:
    return f"{g.place_stem()} {g._pick(('Zoo', 'Zoo', 'Wildlife Park', 'Zoological Garden', 'Safari Park'))}"


def _stadium(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.45:
        return f"{g.place_stem()} Stadium"
    if r < 0.75:
        return f"{g.place_stem()} {g._pick(('Sports Centre', 'Olympic Sports Centre', 'Sports Park'))}"
    return f"{g._pick(_BRANDS)} {g._pick(('Arena', 'Stadium'))} {g._pinyin()}"


def _mall(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.3:
        return f"{g.place_stem()} Plaza"
    if r < 0.55:
        return f"{g._pick(_BRANDS)} {g._pick(('Mall', 'City', 'Galleria', 'Square'))} {g._pinyin()}"
    if r < 0.8:
        return f"{g.place_stem()} Shopping Centre"
    return f"{g._pick(_BRANDS)} {g.place_stem()} Mall"


def _office(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.4:
        return f"{g.place_stem()} {g._pick(('Business Park', 'Technology Park', 'Software Park', 'Science Park'))}"
    if r < 0.7:
        return f"{g._pick(_BRANDS)} {g._pick(('Tower', 'Towers', 'Center', 'Innovation Centre'))} {g._pinyin()}"
    return f"{g.place_stem()} {g._pick(('Financial Centre', 'Office Park', 'Headquarters Park'))}"


def _residential(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.2:
        return f"{g._pick(_ADJ)} {g._pick(_NATURE)} {g._pick(('Garden', 'Residence', 'Court', 'Mansion'))}"
    if r < 0.65:
        return f"{g.place_stem()} {g._pick(('Residence', 'Apartments', 'Homes', 'Estate', 'Garden', 'Village'))}"
    return f"{g._pinyin()} {g._pick(('New Village', 'Community', 'Jiayuan', 'Xiaoqu', 'Huayuan'))}"


def _factory(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.4:
        return f"{g.place_stem()} {g._pick(_PRODUCTS)} Factory"
    if r < 0.7:
        return f"{g._pick(_BRANDS)} {g._pick(_PRODUCTS)} Co., Ltd. {g._pinyin()}"
    return f"{g.place_stem()} {g._pick(('Steel Works', 'Textile Mill', 'Paper Mill', 'Manufacturing Plant'))}"


def _warehouse(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.4:
        return f"{g._pick(_BRANDS)} Logistics {g._pick(('Centre', 'Park', 'Hub'))} {g._pinyin()}"
    if r < 0.7:
        return f"{g.place_stem()} {g._pick(('Distribution Centre', 'Cold Storage', 'Warehouse', 'Depot'))}"
    return f"{g._pick(_BRANDS)} Express Delivery {g.place_stem()}"


def _station(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.5:
        return f"{g.place_stem()} Railway Station"
    if r < 0.8:
        return f"{g._pinyin()} {g._pick(_DIRS)} Station"
    return f"{g.place_stem()} {g._pick(('Central Station', 'Train Station'))}"


def _parking(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.4:
        return f"{g.place_stem()} Parking"
    if r < 0.6:
        return f"{g.place_stem()} Park & Ride"
    if r < 0.8:
        return f"P{int(g.rng.integers(1, 30))} {g.place_stem()} Car Park"
    return f"{g.place_stem()} Parking Lot"


def _water_works(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.4:
        return f"{g.place_stem()} Water Works"
    if r < 0.7:
        return f"{g.place_stem()} {g._pick(('Water Treatment Plant', 'Wastewater Treatment Plant'))}"
    return f"{g.place_stem()} No. {int(g.rng.integers(1, 12))} Water Plant"


def _cemetery(g: NameGenerator) -> str:
    r = g.rng.random()
    if r < 0.45:
        return f"{g.place_stem()} Cemetery"
    if r < 0.7:
        return f"{g.place_stem()} Memorial Park"
    if r < 0.85:
        return f"St. {g._pick(_SAINTS)}'s Cemetery {g._pinyin()}"
    return f"{g.place_stem()} Public Cemetery"


_PLACE_TEMPLATES = {
    "school": _school,
    "university": _university,
    "kindergarten": _kindergarten,
    "hospital": _hospital,
    "clinic": _clinic,
    "park": _park,
    "zoo": _zoo,
    "stadium": _stadium,
    "shopping_mall": _mall,
    "office_park": _office,
    "residential_compound": _residential,
    "factory": _factory,
    "warehouse": _warehouse,
    "railway_station": _station,
    "parking_lot": _parking,
    "water_works": _water_works,
    "cemetery": _cemetery,
}

CLASS_PHRASES: dict[str, tuple[str, ...]] = {
    "school": ("school", "schools", "Schools", "primary and secondary schools"),
    "university": ("university", "University", "colleges and universities", "campus"),
    "kindergarten": ("kindergarten", "kindergartens", "Kindergarten", "preschool"),
    "hospital": ("hospital", "hospitals", "Hospitals", "general hospital"),
    "clinic": ("clinic", "clinics", "Clinics", "health centre"),
    "park": ("park", "parks", "Parks", "public garden"),
    "zoo": ("zoo", "zoos", "Zoo", "zoological garden"),
    "stadium": ("stadium", "stadiums", "Stadium", "sports centre"),
    "shopping_mall": ("shopping mall", "shopping malls", "Shopping Mall", "shopping centre"),
    "office_park": ("office park", "office parks", "Business Office Building", "business park"),
    "residential_compound": ("residential compound", "residential compounds", "Residential Area", "housing estate"),
    "factory": ("factory", "Factory", "manufacturing plant", "plant"),
    "warehouse": ("warehouse", "warehouses", "Express Delivery", "logistics centre"),
    "railway_station": ("railway station", "railway stations", "Train Station", "train station"),
    "parking_lot": ("parking lot", "parking lots", "Parking Lot", "car park"),
    "water_works": ("water works", "Water Works", "water treatment plant", "wastewater plant"),
    "cemetery": ("cemetery", "Cemetery", "graveyard", "burial ground"),
}
"""How a class-level query names each class: the label, a plural, a title-case category, a synonym.

Every phrase resolves to its class with `tools.query.match_class` (tested).
"""

FUNCTION_PHRASES: dict[str, tuple[str, ...]] = {
    "education": ("places for education", "education", "Education", "places for learning"),
    "healthcare": ("places for healthcare", "healthcare", "Medical", "places for health care"),
    "recreation": ("places for green space and recreation", "recreation", "Leisure", "places for leisure"),
    "commerce": ("places for shopping and commerce", "commerce", "Commercial", "places for business"),
    "residential": ("places for living", "residential", "Housing", "places for housing"),
    "industry": ("places for industry and logistics", "industry", "Industrial", "places for manufacturing"),
    "transport": ("places for transport", "transport", "Transportation", "places for transit"),
    "utilities": ("places for public utilities", "utilities", "Infrastructure", "places for utilities"),
    "civic": ("places for civic and funeral services", "civic", "Funeral", "places for burial"),
}
"""How a function-level query names each function; the first phrase is the taxonomy label.

SynthCity draws no function-level query for ``residential`` or ``commerce`` (their clutter would belong in the
truth; see `evals.synthcity.splits`); their phrases stay so that every function has its wording.
"""


def class_phrase(cls: str, rng: np.random.Generator) -> str:
    """Return a class-level query for ``cls`` (label, plural, category or synonym)."""
    phrases = CLASS_PHRASES[cls]
    return str(phrases[int(rng.choice(len(phrases), p=[0.35, 0.3, 0.2, 0.15]))])


def function_phrase(function: str, rng: np.random.Generator) -> str:
    """Return a function-level query for ``function`` (the label most often)."""
    phrases = FUNCTION_PHRASES[function]
    return str(phrases[int(rng.choice(len(phrases), p=[0.55, 0.15, 0.15, 0.15]))])
