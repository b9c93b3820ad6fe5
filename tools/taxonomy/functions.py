"""The socio-functions: what places are for. The first nine are SynthCity's (their words are fixed)."""

from __future__ import annotations

from tools.taxonomy.model import SocioFunction

FUNCTIONS: dict[str, SocioFunction] = {
    f.key: f
    for f in [
        SocioFunction(
            "education",
            "places for education",
            ("education", "learning", "study", "teaching"),
            "places where people learn and study: schools, universities, kindergartens",
        ),
        SocioFunction(
            "healthcare",
            "places for healthcare",
            ("healthcare", "health care", "medical", "health"),
            "places where sick or injured people get medical care",
        ),
        SocioFunction(
            "recreation",
            "places for green space and recreation",
            ("recreation", "green space", "greenspace", "leisure", "sport", "sports", "outdoor"),
            "parks, green spaces, sports grounds and places to spend free time outdoors",
        ),
        SocioFunction(
            "commerce",
            "places for shopping and commerce",
            ("commerce", "commercial", "shopping", "retail", "business"),
            "places where goods are sold and business is done: malls, office parks",
        ),
        SocioFunction(
            "residential",
            "places for living",
            ("residential", "housing", "living", "homes"),
            "places where people live: housing estates and residential compounds",
        ),
        SocioFunction(
            "industry",
            "places for industry and logistics",
            ("industry", "industrial", "manufacturing", "logistics"),
            "places where goods are made or stored: factories, warehouses",
        ),
        SocioFunction(
            "transport",
            "places for transport",
            ("transport", "transportation", "transit", "travel"),
            "places for travelling and vehicles: stations, parking",
        ),
        SocioFunction(
            "utilities",
            "places for public utilities",
            ("utilities", "utility", "infrastructure"),
            "infrastructure that supplies water or power to the city",
        ),
        SocioFunction(
            "civic",
            "places for civic and funeral services",
            ("civic", "funeral", "burial", "memorial"),
            "civic places such as cemeteries and memorial grounds",
        ),
        SocioFunction(
            "food",
            "places to eat and drink",
            ("food", "food and drink", "places to eat and drink", "places to eat", "eating", "dining", "eat", "drink"),
            "restaurants, cafes, bars and other places where people eat and drink",
        ),
        SocioFunction(
            "accommodation",
            "places to stay",
            ("accommodation", "places to stay", "lodging", "lodgings", "overnight stay"),
            "hotels, hostels, guest houses and camp sites where travellers sleep",
        ),
        SocioFunction(
            "worship",
            "places of worship",
            ("worship", "religion", "religious", "faith", "prayer"),
            "churches, mosques, temples and other places where people worship",
        ),
        SocioFunction(
            "culture",
            "places for culture and tourism",
            ("culture", "cultural", "arts", "tourism", "sightseeing", "entertainment", "heritage"),
            "museums, theatres, cinemas, monuments and sights for visitors",
        ),
        SocioFunction(
            "agriculture",
            "places for farming",
            ("agriculture", "agricultural", "farming", "crops", "livestock"),
            "farmland, orchards, vineyards and farm buildings where food is grown",
        ),
        SocioFunction(
            "nature",
            "natural areas and water",
            ("nature", "natural", "natural areas", "natural areas and water", "wilderness", "countryside"),
            "woods, meadows, wetlands, beaches and bodies of water",
        ),
    ]
}
