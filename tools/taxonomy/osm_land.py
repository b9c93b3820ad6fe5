"""OSM's common land use, natural areas, water and building types as socio-classes.

One line per class (`tools.taxonomy.model.parse_class_table`). ``building`` is the class of ``building=yes``
and, for a query, of every feature of kind ``building`` (`tools.taxonomy.matches_class`); the other building
types name what the building is (``building=house`` -> ``house``). A building of a site's type
(``building=school``) is a class of its own (``school_building``), so a query for schools does not count a
school's buildings as more schools.
"""

from __future__ import annotations

from tools.taxonomy.model import SocioClass, parse_class_table

_LANDUSE = """
commercial_area | commercial area | commerce | landuse=commercial | commercial zone, commercial district |
retail_area | retail area | commerce | landuse=retail | shopping district, shopping area, retail park |
industrial_area | industrial area | industry | landuse=industrial | industrial estate, industrial zone, \
industrial park |
construction_site | construction site | industry | landuse=construction building=construction | building site |
brownfield | brownfield | industry | landuse=brownfield | brownfield site, derelict land | former industrial land
greenfield | greenfield | industry | landuse=greenfield | greenfield site, development land | land set for building
quarry | quarry | industry | landuse=quarry | open-pit mine, gravel pit, open cast mine | a quarry
landfill | landfill | utilities | landuse=landfill | rubbish dump, waste dump, garbage dump |
garages_area | garage area | transport | landuse=garages | lock-up garages, garage court | an area of garages
railway_land | railway land | transport | landuse=railway | railway yard, rail yard, train yard | land of a railway
port | port | transport | landuse=port | harbour, harbor, seaport, docks | a sea or river port
religious_area | religious area | worship | landuse=religious landuse=churchyard | churchyard, church grounds |
institutional_area | institutional area | civic | landuse=institutional | institutional land, government grounds |
farmland | farmland | agriculture | landuse=farmland | farm land, arable land, cropland, crop field |
farmyard | farmyard | agriculture | landuse=farmyard | farmstead, farm yard | the yard around farm buildings
orchard | orchard | agriculture | landuse=orchard | fruit orchard, fruit trees | an orchard
vineyard | vineyard | agriculture | landuse=vineyard | winery, vines | a vineyard
allotments | allotments | agriculture | landuse=allotments | allotment, allotment garden, community garden |
plant_nursery | plant nursery | agriculture | landuse=plant_nursery | tree nursery | a nursery growing plants
greenhouse_horticulture | greenhouse area | agriculture | landuse=greenhouse_horticulture | greenhouse farm, \
market garden |
aquaculture | aquaculture | agriculture | landuse=aquaculture | fish farm | a fish or shellfish farm
animal_keeping | animal enclosure | agriculture | landuse=animal_keeping | paddock, corral, pasture enclosure |
grass | grass | nature | landuse=grass | lawn, grassy area, turf | an area of mown grass
flowerbed | flowerbed | nature | landuse=flowerbed | flower bed, flower garden | a bed of flowers
meadow | meadow | nature | landuse=meadow | pasture, hay meadow | a meadow
forest | forest | nature | landuse=forest landuse=logging | managed forest, plantation, timberland | a forest
winter_sports | winter sports area | recreation | landuse=winter_sports | ski resort, ski area, ski slope |
"""

_NATURE = """
wood | wood | nature | natural=wood | woods, woodland | an area of trees
tree | tree | nature | natural=tree natural=tree_row | single tree, tree row, row of trees | a tree
scrub | scrub | nature | natural=scrub | shrubland, bushes, brush | an area of bushes
heath | heath | nature | natural=heath | heathland, moor, moorland | an open heath
grassland | grassland | nature | natural=grassland | prairie, steppe, wild grass | natural grassland
wetland | wetland | nature | natural=wetland | marsh, swamp, bog, fen, mire | a wetland
beach | beach | nature | natural=beach | sandy beach, shore, seaside | a beach
sand | sand | nature | natural=sand | sand dune, dunes, sandy area | an area of sand
bare_rock | bare rock | nature | natural=bare_rock natural=scree natural=shingle | rock, rocky area, scree |
cliff | cliff | nature | natural=cliff | bluff, escarpment, rock face | a cliff
peak | peak | nature | natural=peak natural=hill | mountain, summit, hilltop, hill | a mountain peak
spring | spring | nature | natural=spring | water spring, wellspring | a natural spring
water_body | water body | nature | natural=water landuse=reservoir landuse=basin | lake, pond, reservoir, basin, water |
bay | bay | nature | natural=bay | cove, inlet, gulf | a bay of the sea
river | river | nature | waterway=river waterway=riverbank | riverbank, waterway | a river
stream | stream | nature | waterway=stream waterway=ditch waterway=drain | brook, creek, ditch, drain | a stream
canal | canal | transport | waterway=canal | channel, navigation canal | a canal
island | island | nature | place=island place=islet | islet, isle | an island
"""

_BUILDINGS = """
building | building | residential | building=yes | buildings, built structure, building footprint | a building
house | house | residential | building=house | family house, single-family house, dwelling | a house
detached_house<house | detached house | residential | building=detached | detached home, villa |
semidetached_house<house | semi-detached house | residential | building=semidetached_house | duplex, twin house |
terraced_house<house | terraced house | residential | building=terrace | row house, townhouse, terrace | a row house
bungalow<house | bungalow | residential | building=bungalow | one-storey house, single-storey house | a bungalow
farmhouse<house | farmhouse | agriculture | building=farm | farm house | the house on a farm
apartments | apartment building | residential | building=apartments | apartments, apartment block, block of flats, \
flats, condominium, condo | a building of apartments
residential_building | residential building | residential | building=residential | residential block, home building |
houseboat | houseboat | residential | building=houseboat | house boat, floating home | a boat lived in
static_caravan | static caravan | residential | building=static_caravan | mobile home, trailer home | a caravan home
cabin | cabin | residential | building=cabin building=hut | hut, log cabin, cottage cabin | a small cabin or hut
commercial_building | commercial building | commerce | building=commercial | business building, commercial block |
retail_building | retail building | commerce | building=retail | shop building, store building | a retail building
industrial_building | industrial building | industry | building=industrial | industrial hall, factory building |
garage | garage | transport | building=garage building=garages building=carport | garages, carport, lock-up |
service_building | service building | utilities | building=service building=digester | utility building, plant room |
public_building | public building | civic | building=public building=civic building=government | civic building |
transport_building | transport building | transport | building=transportation | transit building |
fire_station_building | fire station building | civic | building=fire_station | fire hall building |
shed | shed | residential | building=shed building=outbuilding | garden shed, storage shed, outbuilding | a shed
roof | roof | residential | building=roof | canopy, roof structure | a roof without walls
pavilion | pavilion | recreation | building=pavilion | gazebo, summer house, sports pavilion | a pavilion
boathouse | boathouse | recreation | building=boathouse | boat house, boat shed | a boathouse
bunker | bunker | civic | building=bunker | blockhouse, pillbox, air-raid shelter | a bunker
gatehouse | gatehouse | residential | building=gatehouse | gate house, gate lodge | a gatehouse
barn | barn | agriculture | building=barn building=farm_auxiliary | farm building, farm shed | a barn
greenhouse | greenhouse | agriculture | building=greenhouse building=conservatory | glasshouse, hothouse, conservatory |
stable | stable | agriculture | building=stable building=cowshed | stables, cowshed, byre, cow barn | a stable
hangar | hangar | transport | building=hangar | aircraft hangar | a hangar for aircraft
church<place_of_worship | church | worship | building=church building=chapel building=cathedral | chapel, cathedral |
mosque<place_of_worship | mosque | worship | building=mosque | masjid | a mosque
temple<place_of_worship | temple | worship | building=temple building=shrine | shrine, pagoda | a temple
synagogue<place_of_worship | synagogue | worship | building=synagogue | shul | a synagogue
religious_building<place_of_worship | religious building | worship | building=religious building=presbytery | \
parish house, presbytery, parsonage | a building of a religious community
"""

OSM_LAND_CLASSES: tuple[SocioClass, ...] = tuple(
    c for t in (_LANDUSE, _NATURE, _BUILDINGS) for c in parse_class_table(t)
)
"""The classes of OSM's land use, natural areas, water and buildings, in table order."""
