"""OSM's common points of interest as socio-classes: amenity, healthcare, tourism, leisure, transport, offices.

One line per class (`tools.taxonomy.model.parse_class_table`): ``key | label | function | tags | synonyms |
description``. The values are the most used ones of each key on OpenStreetMap (taginfo's top values, written
out by hand); a tag that SynthCity's core classes already claim (``amenity=school``) is not repeated here.
"""

from __future__ import annotations

from tools.taxonomy.model import SocioClass, parse_class_table

_FOOD = """
restaurant | restaurant | food | amenity=restaurant | eatery, diner, bistro, dining place | a restaurant serving meals
cafe | cafe | food | amenity=cafe | café, coffee shop, coffee house, coffeehouse, tea room | a cafe serving coffee
fast_food | fast food restaurant | food | amenity=fast_food | fast food, burger joint, takeaway, take-away, snack bar |
bar | bar | food | amenity=bar | cocktail bar, wine bar, lounge bar | a bar serving drinks
pub | pub | food | amenity=pub | public house, tavern, inn, alehouse | a pub serving beer
biergarten | beer garden | food | amenity=biergarten | biergarten | an open-air beer garden
ice_cream | ice cream parlour | food | amenity=ice_cream | ice cream shop, gelateria, ice cream parlor |
food_court | food court | food | amenity=food_court | food hall | a hall of food stalls with shared seating
nightclub | nightclub | culture | amenity=nightclub | night club, disco, discotheque, dance club | \
a club for dancing at night
"""

_CIVIC = """
townhall | town hall | civic | amenity=townhall | city hall, municipal hall, council building | seat of local government
police | police station | civic | amenity=police | police, police office, precinct | a police station
fire_station | fire station | civic | amenity=fire_station | fire brigade, fire hall, firehouse | a fire station
ambulance_station | ambulance station | healthcare | emergency=ambulance_station | ambulance depot |
post_office | post office | civic | amenity=post_office | postal office | a post office
post_box | post box | civic | amenity=post_box | mailbox, letter box, postbox | a box for posting letters
parcel_locker | parcel locker | civic | amenity=parcel_locker | package locker, parcel terminal | lockers for parcels
library | library | culture | amenity=library | public library, lending library | a library lending books
public_bookcase | public bookcase | culture | amenity=public_bookcase | book exchange, little free library |
courthouse | courthouse | civic | amenity=courthouse | court, law court, court of justice | a court of law
prison | prison | civic | amenity=prison | jail, gaol, penitentiary, correctional facility | a prison
community_centre | community centre | civic | amenity=community_centre | community center, community hall, \
civic centre |
social_facility | social facility | civic | amenity=social_facility | social services, shelter for the homeless |
nursing_home | nursing home | healthcare | amenity=nursing_home | care home, retirement home, old people's home |
embassy | embassy | civic | amenity=embassy office=diplomatic | consulate, diplomatic mission | a foreign embassy
government_office | government office | civic | office=government | government agency, public administration |
crematorium | crematorium | civic | amenity=crematorium | crematory | a place where the dead are cremated
mortuary | mortuary | civic | amenity=mortuary | morgue | a place where the dead are kept
military_area | military area | civic | landuse=military military=barracks | military base, army base, barracks |
"""

_EDUCATION = """
driving_school | driving school | education | amenity=driving_school | driving instructor | a school for drivers
music_school | music school | education | amenity=music_school | conservatory of music | a school teaching music
language_school | language school | education | amenity=language_school | language centre | a school for languages
training_centre | training centre | education | amenity=training | training center, vocational school |
research_institute | research institute | education | amenity=research_institute office=research | research centre |
school_building | school building | education | building=school | schoolhouse | a building of a school
university_building | university building | education | building=university building=college | college building |
kindergarten_building | kindergarten building | education | building=kindergarten | nursery building |
schoolyard | schoolyard | education | leisure=schoolyard | school yard, school playground | a school's playground
education_area | education area | education | landuse=education | educational area, school grounds |
"""

_HEALTH = """
pharmacy | pharmacy | healthcare | amenity=pharmacy healthcare=pharmacy | chemist's, drugstore, apothecary |
dentist | dentist | healthcare | amenity=dentist healthcare=dentist | dental clinic, dental surgery | a dental practice
veterinary | veterinary clinic | healthcare | amenity=veterinary | vet, veterinarian, animal hospital | a vet's clinic
physiotherapist | physiotherapist | healthcare | healthcare=physiotherapist | physiotherapy, physical therapist |
alternative_medicine | alternative medicine | healthcare | healthcare=alternative | naturopath, acupuncture |
medical_laboratory | medical laboratory | healthcare | healthcare=laboratory healthcare=sample_collection | \
medical lab |
optometrist | optometrist | healthcare | healthcare=optometrist | eye doctor, eye clinic | an eye care practice
rehabilitation | rehabilitation centre | healthcare | healthcare=rehabilitation | rehab, rehab centre |
psychotherapist | psychotherapist | healthcare | healthcare=psychotherapist healthcare=counselling | counselling |
podiatrist | podiatrist | healthcare | healthcare=podiatrist | chiropodist, foot clinic | a foot care practice
nurse | nurse | healthcare | healthcare=nurse healthcare=midwife | nursing service, midwife | a nurse's practice
therapist | therapist | healthcare | healthcare=speech_therapist healthcare=occupational_therapist | speech therapy |
audiologist | audiologist | healthcare | healthcare=audiologist | hearing clinic | a hearing care practice
blood_donation | blood donation centre | healthcare | healthcare=blood_donation | blood bank, blood donor centre |
hospice | hospice | healthcare | healthcare=hospice | palliative care | a hospice for the dying
dialysis | dialysis centre | healthcare | healthcare=dialysis | dialysis clinic, kidney centre |
birthing_centre | birthing centre | healthcare | healthcare=birthing_centre | maternity centre, birth centre |
vaccination_centre | vaccination centre | healthcare | healthcare=vaccination_centre | vaccination clinic |
hospital_building | hospital building | healthcare | building=hospital | hospital block | a building of a hospital
defibrillator | defibrillator | healthcare | emergency=defibrillator | aed, automated external defibrillator |
"""

_MONEY = """
bank | bank | commerce | amenity=bank | bank branch, savings bank | a bank branch
atm | cash machine | commerce | amenity=atm | atm, cashpoint, cash dispenser | a machine dispensing cash
bureau_de_change | currency exchange | commerce | amenity=bureau_de_change | bureau de change, money exchange |
money_transfer | money transfer | commerce | amenity=money_transfer | remittance office, wire transfer |
vending_machine | vending machine | commerce | amenity=vending_machine | vending, ticket machine | a vending machine
marketplace | marketplace | commerce | amenity=marketplace | market, market square, bazaar, farmers market |
casino | casino | culture | amenity=casino amenity=gambling | gambling hall, gaming house | a casino
"""

_CULTURE = """
place_of_worship | place of worship | worship | amenity=place_of_worship | house of worship, place of prayer |
monastery | monastery | worship | amenity=monastery building=monastery | abbey, convent, priory, friary |
theatre | theatre | culture | amenity=theatre | theater, playhouse, opera house | a theatre for plays
cinema | cinema | culture | amenity=cinema | movie theater, movie theatre, movie house | a cinema showing films
arts_centre | arts centre | culture | amenity=arts_centre | arts center, cultural centre, culture house |
events_venue | events venue | culture | amenity=events_venue | event venue, function hall, banquet hall |
conference_centre | conference centre | culture | amenity=conference_centre | convention centre, congress centre |
exhibition_centre | exhibition centre | culture | amenity=exhibition_centre | exhibition hall, expo centre, fairground |
studio | studio | culture | amenity=studio | recording studio, broadcasting studio, tv studio |
internet_cafe | internet cafe | culture | amenity=internet_cafe | cybercafe, internet café |
museum | museum | culture | tourism=museum building=museum | museums of art and history | a museum
gallery | art gallery | culture | tourism=gallery | gallery, art museum | an art gallery
attraction | tourist attraction | culture | tourism=attraction | attraction, sights, landmark, scenic spot |
viewpoint | viewpoint | culture | tourism=viewpoint | lookout, scenic viewpoint, vista point | a place with a view
artwork | artwork | culture | tourism=artwork | public art, sculpture, statue, mural | a work of public art
tourist_information | tourist information | culture | tourism=information | information board, visitor centre |
theme_park | theme park | culture | tourism=theme_park | amusement park, fun park | an amusement park with rides
aquarium | aquarium | culture | tourism=aquarium | sea life centre, oceanarium | a public aquarium
planetarium | planetarium | culture | amenity=planetarium | observatory | a dome theatre showing the sky
memorial | memorial | civic | historic=memorial | commemorative plaque, war memorial | a memorial
monument | monument | culture | historic=monument | national monument | a monument
castle | castle | culture | historic=castle building=castle | fortress, fort, palace, citadel | a castle
ruins | ruins | culture | historic=ruins building=ruins | ruin, ruined building | the remains of a building
archaeological_site | archaeological site | culture | historic=archaeological_site | excavation, dig site |
wayside_cross | wayside cross | worship | historic=wayside_cross historic=wayside_shrine | wayside shrine |
clock | public clock | civic | amenity=clock | clock, clock tower | a public clock
fountain | fountain | recreation | amenity=fountain | water fountain, ornamental fountain | a decorative fountain
"""

_ACCOMMODATION = """
hotel | hotel | accommodation | tourism=hotel building=hotel | hotels and resorts | a hotel
guest_house | guest house | accommodation | tourism=guest_house | guesthouse, bed and breakfast, b&b, pension |
hostel | hostel | accommodation | tourism=hostel | youth hostel, backpackers | a hostel with dormitories
motel | motel | accommodation | tourism=motel | motor hotel, motor inn | a motel by the road
holiday_apartment | holiday apartment | accommodation | tourism=apartment | vacation rental, holiday flat |
chalet | chalet | accommodation | tourism=chalet | holiday cottage, cottage, holiday home | a holiday chalet
camp_site | camp site | accommodation | tourism=camp_site | campsite, campground, camping | a camp site
camp_pitch | camping pitch | accommodation | tourism=camp_pitch | tent pitch, camping spot | a pitch on a camp site
caravan_site | caravan site | accommodation | tourism=caravan_site | rv park, trailer park, motorhome site |
mountain_hut | mountain hut | accommodation | tourism=alpine_hut tourism=wilderness_hut | alpine hut, wilderness hut |
dormitory | dormitory | accommodation | building=dormitory | student residence, halls of residence, dorm |
"""

_SPORT = """
pitch | sports pitch | recreation | leisure=pitch | pitch, sports field, playing field, football pitch, \
football field, soccer field, soccer pitch, tennis court, basketball court, volleyball court, baseball field, \
rugby pitch, ball field, athletic field | a marked field or court for a sport
track | running track | recreation | leisure=track | athletics track, racetrack, race track, cycling track |
swimming_pool | swimming pool | recreation | leisure=swimming_pool leisure=swimming_area | pool, swimming bath, lido |
water_park | water park | recreation | leisure=water_park | aquapark, water slide park | a park with water slides
sports_hall | sports hall | recreation | leisure=sports_hall building=sports_hall building=sports_centre | gymnasium |
fitness_centre | fitness centre | recreation | leisure=fitness_centre | gym, fitness center, health club |
fitness_station | outdoor gym | recreation | leisure=fitness_station | fitness station, exercise station |
golf_course | golf course | recreation | leisure=golf_course | golf club, golf links | a golf course
miniature_golf | miniature golf | recreation | leisure=miniature_golf | mini golf, crazy golf, putt-putt |
ice_rink | ice rink | recreation | leisure=ice_rink | skating rink, ice arena, ice hockey rink | an ice rink
horse_riding | riding centre | recreation | leisure=horse_riding building=riding_hall | equestrian centre, stable yard |
bowling_alley | bowling alley | recreation | leisure=bowling_alley | bowling centre, ten-pin bowling |
sauna | sauna | recreation | leisure=sauna amenity=public_bath | public bath, bathhouse, spa | a sauna or bathhouse
dance_hall | dance hall | culture | leisure=dance | dance studio, dance school, ballroom | a place to dance
amusement_arcade | amusement arcade | culture | leisure=amusement_arcade leisure=adult_gaming_centre | arcade |
escape_game | escape room | culture | leisure=escape_game | escape game | a room escape game
dojo | dojo | recreation | amenity=dojo | martial arts school, martial arts studio | a martial arts hall
shooting_range | shooting range | recreation | leisure=shooting_ground | gun range, rifle range |
grandstand | grandstand | recreation | building=grandstand leisure=bleachers | bleachers, tribune, spectator stand |
"""

_OUTDOOR = """
playground | playground | recreation | leisure=playground | play area, children's playground, play park |
picnic_site | picnic site | recreation | tourism=picnic_site | picnic area, picnic ground | a place for picnics
picnic_table | picnic table | recreation | leisure=picnic_table | picnic bench | a picnic table
bench | bench | recreation | amenity=bench | park bench, seating | a bench to sit on
shelter | shelter | recreation | amenity=shelter | hut shelter, rain shelter, lean-to | a roofed shelter
bbq | barbecue | recreation | amenity=bbq leisure=firepit | barbecue area, barbecue grill, firepit, fire pit |
dog_park | dog park | recreation | leisure=dog_park | dog run, off-leash area | a fenced park for dogs
nature_reserve | nature reserve | nature | leisure=nature_reserve boundary=national_park | national park, \
wildlife reserve |
common | common | recreation | leisure=common | common land, village common | open land for public use
recreation_ground | recreation ground | recreation | landuse=recreation_ground | recreation area, rec ground |
village_green | village green | recreation | landuse=village_green | town green | a grassy village green
marina | marina | recreation | leisure=marina | yacht harbour, boat harbour, yacht club | a harbour for boats
slipway | slipway | recreation | leisure=slipway | boat ramp, boat launch | a ramp into the water
fishing_spot | fishing spot | recreation | leisure=fishing | angling spot, fishing place | a place to fish
bird_hide | bird hide | nature | leisure=bird_hide leisure=wildlife_hide | wildlife hide, bird blind |
beach_resort | beach resort | recreation | leisure=beach_resort | seaside resort | a managed beach
resort | resort | accommodation | leisure=resort | holiday resort, spa resort | a holiday resort
summer_camp | summer camp | recreation | leisure=summer_camp | holiday camp, scout camp | a camp for children
bandstand | bandstand | culture | leisure=bandstand | music pavilion, band shell | an open stage for bands
"""

_TRANSPORT = """
fuel_station | fuel station | transport | amenity=fuel | gas station, petrol station, filling station, service station |
charging_station | charging station | transport | amenity=charging_station | ev charger, charging point |
bus_station | bus station | transport | amenity=bus_station | bus terminal, coach station | a bus station
bus_stop | bus stop | transport | highway=bus_stop | bus shelter, bus halt | a bus stop
platform | platform | transport | public_transport=platform railway=platform | transit platform, station platform |
stop_position | transit stop | transport | public_transport=stop_position railway=tram_stop | tram stop, transit stop |
transit_station | transit station | transport | public_transport=station | metro station, subway station |
stop_area | stop area | transport | public_transport=stop_area | interchange, transport hub | a group of stops
subway_entrance | subway entrance | transport | railway=subway_entrance | metro entrance, underground entrance |
taxi_stand | taxi stand | transport | amenity=taxi | taxi rank, cab stand | a place to catch a taxi
ferry_terminal | ferry terminal | transport | amenity=ferry_terminal | ferry port, ferry pier | a ferry terminal
car_rental | car rental | transport | amenity=car_rental | car hire, rent a car | a car rental office
car_sharing | car sharing | transport | amenity=car_sharing | car club, carsharing | a car-sharing station
car_wash | car wash | transport | amenity=car_wash | carwash, car cleaning | a car wash
bicycle_parking | bicycle parking | transport | amenity=bicycle_parking | bike parking, bike rack, cycle parking |
bicycle_rental | bicycle rental | transport | amenity=bicycle_rental | bike rental, bike share, city bikes |
boat_rental | boat rental | transport | amenity=boat_rental | boat hire, kayak rental | a boat rental
motorcycle_parking | motorcycle parking | transport | amenity=motorcycle_parking | motorbike parking |
parking_space | parking space | transport | amenity=parking_space | parking bay, parking spot | a single parking space
parking_entrance | parking entrance | transport | amenity=parking_entrance | garage entrance |
parking_garage | parking garage | transport | building=parking | multi-storey car park, parking structure, \
parking deck |
airport | airport | transport | aeroway=aerodrome | aerodrome, airfield, airstrip | an airport
airport_terminal | airport terminal | transport | aeroway=terminal | air terminal, passenger terminal |
helipad | helipad | transport | aeroway=helipad | heliport, helicopter pad | a landing pad for helicopters
"""

_UTILITIES = """
toilets | public toilet | utilities | amenity=toilets building=toilets | toilets, restroom, wc, lavatory |
drinking_water | drinking water | utilities | amenity=drinking_water amenity=water_point | water tap, \
drinking fountain |
waste_basket | waste basket | utilities | amenity=waste_basket | litter bin, trash can, rubbish bin, garbage can |
recycling | recycling point | utilities | amenity=recycling | recycling centre, bottle bank, recycling bin |
waste_disposal | waste container | utilities | amenity=waste_disposal | dumpster, waste bin |
telephone | public telephone | utilities | amenity=telephone | phone box, phone booth, payphone, telephone box |
power_plant | power plant | utilities | power=plant | power station, power plant site | a power station
power_generator | power generator | utilities | power=generator | wind turbine, solar panel |
substation | electrical substation | utilities | power=substation | substation, transformer station |
water_tower | water tower | utilities | man_made=water_tower building=water_tower | water tank tower |
storage_tank | storage tank | industry | man_made=storage_tank building=storage_tank | oil tank, gas holder |
tower | tower | utilities | man_made=tower building=tower man_made=mast | mast, radio mast, telecom tower |
chimney | chimney | industry | man_made=chimney | smokestack | an industrial chimney
silo | silo | agriculture | man_made=silo building=silo | grain silo | a storage silo
lighthouse | lighthouse | transport | man_made=lighthouse | light tower, beacon | a lighthouse
pier | pier | transport | man_made=pier | jetty, wharf, quay | a pier over the water
"""

_SERVICES = """
animal_shelter | animal shelter | civic | amenity=animal_shelter | animal rescue, dog shelter, cat shelter |
estate_agent | estate agent | commerce | office=estate_agent | real estate agent, realtor, letting agent |
lawyer | law firm | commerce | office=lawyer office=notary | lawyer, solicitor, attorney, notary | a lawyer's office
accountant | accountant | commerce | office=accountant office=tax_advisor | tax advisor, accounting firm |
association | association | civic | office=association office=ngo | ngo, non-profit, club house, society office |
employment_agency | employment agency | commerce | office=employment_agency | job centre, recruitment agency |
travel_agency | travel agency | commerce | shop=travel_agency office=travel_agent | travel agent, tour operator |
"""

OSM_PLACE_CLASSES: tuple[SocioClass, ...] = tuple(
    c
    for table in (
        _FOOD,
        _CIVIC,
        _EDUCATION,
        _HEALTH,
        _MONEY,
        _CULTURE,
        _ACCOMMODATION,
        _SPORT,
        _OUTDOOR,
        _TRANSPORT,
        _UTILITIES,
        _SERVICES,
    )
    for c in parse_class_table(table)
)
"""The classes of OSM's points of interest, in table order."""
