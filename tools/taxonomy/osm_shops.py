"""OSM's common shop types as socio-classes, each a kind of ``shop`` (the class of ``shop=yes``).

One line per class (`tools.taxonomy.model.parse_class_table`); the function column ``-`` means commerce.
A query for shops finds every class here (`tools.taxonomy.class_members`). ``shop=mall`` is SynthCity's
``shopping_mall``, not repeated here.
"""

from __future__ import annotations

from tools.taxonomy.model import SocioClass, parse_class_table

_SHOPS = """
shop | shop | commerce | shop=yes shop=general | shops, store, retail shop, general store | a shop
convenience<shop | convenience store | - | shop=convenience | convenience shop, corner shop, minimart, bodega |
supermarket<shop | supermarket | - | shop=supermarket building=supermarket | grocery store, grocery, food store |
department_store<shop | department store | - | shop=department_store | department shop | \
a large store of many departments
kiosk<shop | kiosk | - | shop=kiosk building=kiosk | newsstand, news kiosk | a small kiosk
variety_store<shop | variety store | - | shop=variety_store | dollar store, pound shop, discount store |
clothes<shop | clothing store | - | shop=clothes shop=boutique shop=fashion | clothes shop, boutique, fashion store |
shoes<shop | shoe shop | - | shop=shoes | shoe store, footwear shop | a shoe shop
bag<shop | bag shop | - | shop=bag shop=leather | luggage shop, handbag store | a shop selling bags
jewelry<shop | jewellery shop | - | shop=jewelry shop=watches | jeweller, jewelry store, watch shop |
fashion_accessories<shop | accessories shop | - | shop=fashion_accessories | fashion accessories |
second_hand<shop | second-hand shop | - | shop=second_hand shop=charity | thrift store, charity shop, op shop |
hairdresser<shop | hairdresser | - | shop=hairdresser | hair salon, barber, barbershop, hairdressing salon |
beauty<shop | beauty salon | - | shop=beauty shop=cosmetics shop=perfumery | beauty parlour, nail salon, \
cosmetics shop |
massage<shop | massage parlour | - | shop=massage | massage salon, massage studio | a massage parlour
tattoo<shop | tattoo parlour | - | shop=tattoo | tattoo studio, tattoo shop | a tattoo parlour
optician<shop | optician | - | shop=optician | eyewear shop, glasses shop | a shop for glasses
chemist<shop | chemist | - | shop=chemist | drug store, toiletries shop | a shop for toiletries and household chemicals
medical_supply<shop | medical supply shop | - | shop=medical_supply shop=hearing_aids | mobility shop, hearing aids |
bakery<shop | bakery | - | shop=bakery shop=pastry | bakeries, bread shop, baker, pastry shop, patisserie |
butcher<shop | butcher | - | shop=butcher | butcher's shop, meat shop | a butcher
greengrocer<shop | greengrocer | - | shop=greengrocer shop=farm | fruit and vegetable shop, produce store, farm shop |
seafood<shop | fishmonger | - | shop=seafood | fish shop, seafood shop | a fish shop
deli<shop | delicatessen | - | shop=deli shop=cheese | deli, cheese shop, fine food shop | a delicatessen
confectionery<shop | sweet shop | - | shop=confectionery shop=chocolate | candy store, confectionery, chocolatier |
beverages<shop | drinks shop | - | shop=beverages shop=water | beverage store, soft drinks shop | a shop selling drinks
alcohol<shop | liquor store | - | shop=alcohol shop=wine | off-licence, bottle shop, wine shop, liquor shop |
coffee_shop<shop | coffee retailer | - | shop=coffee shop=tea | coffee merchant, tea shop, coffee beans |
health_food<shop | health food shop | - | shop=health_food shop=nutrition_supplements | organic shop, supplements |
frozen_food<shop | frozen food shop | - | shop=frozen_food shop=dairy | dairy shop, freezer centre |
spices<shop | spice shop | - | shop=spices shop=nuts | spice merchant, nut shop | a shop selling spices
tobacco<shop | tobacconist | - | shop=tobacco shop=e-cigarette | tobacco shop, smoke shop, vape shop |
hardware<shop | hardware store | - | shop=hardware shop=doityourself shop=trade | diy store, home improvement store |
paint<shop | paint shop | - | shop=paint | paint store | a shop selling paint
garden_centre<shop | garden centre | - | shop=garden_centre shop=florist | garden center, florist, flower shop |
agrarian<shop | farm supply shop | - | shop=agrarian | agricultural supplies, feed store | a shop for farmers
furniture<shop | furniture store | - | shop=furniture shop=bed shop=kitchen | furniture shop, bed shop, kitchen store |
interior_decoration<shop | home decor shop | - | shop=interior_decoration shop=houseware shop=curtain | houseware |
carpet<shop | flooring shop | - | shop=carpet shop=flooring shop=tiles | carpet shop, tile shop | a shop for floors
electronics<shop | electronics store | - | shop=electronics shop=appliance shop=electrical | appliance store |
computer<shop | computer shop | - | shop=computer | computer store, it shop | a computer shop
mobile_phone<shop | mobile phone shop | - | shop=mobile_phone shop=telecommunication | phone shop, cell phone store |
hifi<shop | music shop | - | shop=music shop=musical_instrument shop=hifi | record store, instrument shop |
video_games<shop | video game shop | - | shop=video_games shop=games shop=toys | game store, toy shop, toy store |
photo<shop | photo shop | - | shop=photo | camera shop, photo studio | a photography shop
books<shop | bookshop | - | shop=books | bookstore, book shop, booksellers | a bookshop
stationery<shop | stationery shop | - | shop=stationery shop=copyshop | stationer, copy shop, print shop |
newsagent<shop | newsagent | - | shop=newsagent shop=lottery | news agent, lottery shop, newspaper shop |
gift<shop | gift shop | - | shop=gift shop=party | souvenir shop, gift store, party shop | a gift shop
art_shop<shop | art shop | - | shop=art shop=craft shop=frame | art supplies, craft shop, framing shop |
antiques<shop | antique shop | - | shop=antiques | antiques dealer, antique store | an antique shop
fabric<shop | fabric shop | - | shop=fabric shop=sewing | textile shop, haberdashery, sewing shop |
sports_shop<shop | sports shop | - | shop=sports shop=outdoor shop=fishing shop=hunting | outdoor shop, sporting goods |
bicycle_shop<shop | bicycle shop | - | shop=bicycle | bike shop, cycle shop | a bicycle shop
pet<shop | pet shop | - | shop=pet | pet store, pet supplies | a pet shop
baby_goods<shop | baby shop | - | shop=baby_goods | baby store, nursery goods | a shop for babies
erotic<shop | sex shop | - | shop=erotic | adult shop, erotic shop | an adult shop
car_dealer<shop | car dealer | transport | shop=car | car dealership, car showroom, car sales |
car_repair<shop | car repair | transport | shop=car_repair | garage workshop, auto repair, mechanic |
car_parts<shop | car parts shop | transport | shop=car_parts | auto parts store, motor accessories | a car parts shop
tyres<shop | tyre shop | transport | shop=tyres | tire shop, tyre centre | a tyre shop
motorcycle<shop | motorcycle dealer | transport | shop=motorcycle | motorbike shop, motorcycle shop |
boat_shop<shop | boat dealer | transport | shop=boat | boat shop, chandlery | a boat dealer
fuel_shop<shop | fuel shop | transport | shop=fuel shop=gas | bottled gas shop, heating oil | a shop for fuel
laundry<shop | laundry | - | shop=laundry shop=dry_cleaning | laundrette, laundromat, dry cleaner |
funeral_directors<shop | funeral home | civic | shop=funeral_directors | funeral directors, undertaker, \
funeral parlour |
pawnbroker<shop | pawnbroker | - | shop=pawnbroker shop=money_lender | pawn shop, money lender | a pawnbroker
locksmith<shop | locksmith | - | shop=locksmith shop=security | key cutter, key shop | a locksmith
storage_rental<shop | self storage | - | shop=storage_rental | storage units, self-storage | a self-storage building
rental<shop | rental shop | - | shop=rental | hire shop, equipment rental | a shop that hires out equipment
ticket<shop | ticket shop | - | shop=ticket | ticket office, box office | a ticket shop
wholesale<shop | wholesale store | - | shop=wholesale | cash and carry, wholesaler | a wholesale store
vacant_shop<shop | vacant shop | - | shop=vacant | empty shop, unoccupied shop | an empty shop unit
"""

OSM_SHOP_CLASSES: tuple[SocioClass, ...] = tuple(parse_class_table(_SHOPS, function="commerce"))
"""The classes of OSM's shops, in table order."""
