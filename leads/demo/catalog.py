"""Vocabulary of the demo data: industry segments, places, people, titles and the vendor's content.

The demo vendor, Keller Motion Systems, sells linear actuators, servo drives,
gearboxes, machine vision and robot grippers to manufacturers. All company
domains end in `.example`, a top-level domain reserved for documentation.
"""

from __future__ import annotations

from dataclasses import dataclass

VENDOR_NAME = "Keller Motion Systems"
VENDOR_SITE = "https://www.keller-motion.example"


@dataclass(frozen=True)
class Segment:
    slug: str
    weight: int
    nouns: tuple[str, ...]
    processes: tuple[str, ...]
    # Annual revenue per employee in USD: a rough estimate for the segment, not a sourced figure.
    revenue_per_employee: int


SEGMENTS = (
    Segment(
        "automotive",
        16,
        (
            "Automotive Components",
            "Drivetrain Systems",
            "Chassis Parts",
            "Vehicle Interiors",
            "Powertrain",
        ),
        (
            "cnc_machining",
            "sheet_metal_stamping",
            "welding",
            "injection_moulding",
            "surface_treatment",
            "die_casting",
            "assembly",
        ),
        320_000,
    ),
    Segment(
        "aerospace_defence",
        8,
        ("Aerostructures", "Aerospace Components", "Defence Systems", "Avionics Enclosures"),
        (
            "cnc_machining",
            "additive_manufacturing",
            "composite_layup",
            "surface_treatment",
            "heat_treatment",
            "assembly",
        ),
        280_000,
    ),
    Segment(
        "medical_devices",
        9,
        ("Medical Devices", "Surgical Instruments", "Orthopaedic Implants", "Diagnostics Hardware"),
        (
            "injection_moulding",
            "cnc_machining",
            "cleanroom_assembly",
            "laser_cutting",
            "additive_manufacturing",
        ),
        260_000,
    ),
    Segment(
        "food_beverage",
        9,
        ("Foods", "Dairy", "Beverages", "Bakery Products", "Confectionery"),
        ("batch_processing", "filling_and_packaging", "blow_moulding", "assembly"),
        240_000,
    ),
    Segment(
        "chemicals",
        6,
        ("Chemicals", "Specialty Coatings", "Adhesives", "Polymers"),
        ("batch_processing", "extrusion", "filling_and_packaging"),
        450_000,
    ),
    Segment(
        "plastics_rubber",
        8,
        ("Plastics", "Polymer Moulding", "Rubber Products", "Seals and Gaskets"),
        ("injection_moulding", "extrusion", "blow_moulding", "compression_moulding", "assembly"),
        190_000,
    ),
    Segment(
        "metal_fabrication",
        10,
        ("Metalworks", "Steel Fabrication", "Sheet Metal", "Precision Engineering"),
        (
            "cnc_machining",
            "laser_cutting",
            "welding",
            "sheet_metal_stamping",
            "surface_treatment",
            "forging",
        ),
        170_000,
    ),
    Segment(
        "electronics",
        8,
        ("Electronics", "Circuit Systems", "Sensor Technologies", "Power Electronics"),
        ("pcb_assembly", "injection_moulding", "cleanroom_assembly", "assembly"),
        300_000,
    ),
    Segment(
        "industrial_machinery",
        12,
        ("Machine Works", "Industrial Machinery", "Pump Systems", "Hydraulics", "Conveyor Systems"),
        ("cnc_machining", "welding", "assembly", "heat_treatment", "additive_manufacturing"),
        230_000,
    ),
    Segment(
        "packaging",
        6,
        ("Packaging", "Cartons", "Flexible Packaging", "Labels"),
        ("extrusion", "filling_and_packaging", "blow_moulding", "injection_moulding"),
        210_000,
    ),
    Segment(
        "energy",
        4,
        ("Energy Systems", "Wind Components", "Turbine Services", "Grid Equipment"),
        ("welding", "cnc_machining", "composite_layup", "surface_treatment", "heat_treatment"),
        400_000,
    ),
    Segment(
        "pharmaceuticals",
        4,
        ("Pharma", "Life Sciences", "Biologics", "Generics Manufacturing"),
        ("batch_processing", "cleanroom_assembly", "filling_and_packaging"),
        420_000,
    ),
)

# Facility type → (weight, lowest and highest usual employee count).
FACILITY_TYPES = {
    "plant": (45, 120, 4000),
    "job_shop": (20, 8, 150),
    "headquarters": (15, 250, 25000),
    "distribution_centre": (10, 40, 600),
    "rd_lab": (10, 20, 400),
}

TECHNOLOGIES = (
    "erp",
    "mes",
    "plm",
    "scada",
    "cmms",
    "qms",
    "cad_cam",
    "iiot_platform",
    "wms",
    "aps",
)
# Larger sites run more systems; ERP is near universal, IIoT platforms are rarer.
TECHNOLOGY_WEIGHTS = (10, 5, 4, 4, 5, 5, 6, 2, 3, 2)


@dataclass(frozen=True)
class Country:
    name: str
    weight: int
    cities: tuple[str, ...]
    legal_suffixes: tuple[str, ...]
    names: str
    free_mail: tuple[str, ...]
    phone_prefix: str


COUNTRIES = (
    Country(
        "Germany",
        16,
        (
            "Stuttgart",
            "Munich",
            "Wolfsburg",
            "Dortmund",
            "Nuremberg",
            "Bremen",
            "Chemnitz",
            "Rosenheim",
        ),
        ("GmbH", "AG", "GmbH & Co. KG"),
        "german",
        ("web.de", "gmx.de", "t-online.de", "gmail.com"),
        "+49",
    ),
    Country(
        "United States",
        20,
        (
            "Detroit",
            "Cleveland",
            "Houston",
            "Charlotte",
            "Milwaukee",
            "Wichita",
            "San Jose",
            "Columbus",
        ),
        ("Inc.", "LLC", "Corp."),
        "english",
        ("gmail.com", "outlook.com", "yahoo.com", "aol.com"),
        "+1",
    ),
    Country(
        "United Kingdom",
        7,
        ("Birmingham", "Sheffield", "Coventry", "Derby", "Bristol", "Glasgow"),
        ("Ltd", "plc"),
        "english",
        ("hotmail.co.uk", "yahoo.co.uk", "gmail.com"),
        "+44",
    ),
    Country(
        "France",
        6,
        ("Lyon", "Toulouse", "Grenoble", "Lille", "Nantes", "Clermont-Ferrand"),
        ("SAS", "SA"),
        "french",
        ("orange.fr", "free.fr", "gmail.com"),
        "+33",
    ),
    Country(
        "Italy",
        6,
        ("Turin", "Milan", "Bologna", "Brescia", "Vicenza", "Modena"),
        ("S.p.A.", "S.r.l."),
        "italian",
        ("libero.it", "gmail.com"),
        "+39",
    ),
    Country(
        "Spain",
        3,
        ("Barcelona", "Bilbao", "Valencia", "Zaragoza", "Vigo"),
        ("S.A.", "S.L."),
        "spanish",
        ("gmail.com", "outlook.com"),
        "+34",
    ),
    Country(
        "Netherlands",
        3,
        ("Eindhoven", "Rotterdam", "Enschede", "Venlo"),
        ("B.V.", "N.V."),
        "dutch",
        ("gmail.com", "outlook.com"),
        "+31",
    ),
    Country(
        "Poland",
        3,
        ("Wrocław", "Poznań", "Katowice", "Łódź"),
        ("Sp. z o.o.", "S.A."),
        "polish",
        ("gmail.com", "outlook.com"),
        "+48",
    ),
    Country(
        "Sweden",
        2,
        ("Gothenburg", "Västerås", "Jönköping", "Södertälje"),
        ("AB",),
        "swedish",
        ("gmail.com", "outlook.com"),
        "+46",
    ),
    Country(
        "Czech Republic",
        2,
        ("Brno", "Plzeň", "Mladá Boleslav", "Ostrava"),
        ("s.r.o.", "a.s."),
        "czech",
        ("gmail.com", "outlook.com"),
        "+420",
    ),
    Country(
        "Austria",
        2,
        ("Linz", "Graz", "Steyr"),
        ("GmbH", "AG"),
        "german",
        ("gmx.net", "gmail.com"),
        "+43",
    ),
    Country(
        "Switzerland",
        2,
        ("Basel", "Zurich", "Winterthur", "Neuchâtel"),
        ("AG", "SA"),
        "german",
        ("gmail.com", "outlook.com"),
        "+41",
    ),
    Country(
        "Canada",
        3,
        ("Windsor", "Montreal", "Mississauga", "Kitchener"),
        ("Inc.", "Ltd."),
        "english",
        ("gmail.com", "outlook.com"),
        "+1",
    ),
    Country(
        "Mexico",
        3,
        ("Monterrey", "Querétaro", "Saltillo", "Guadalajara"),
        ("S.A. de C.V.",),
        "spanish",
        ("gmail.com", "outlook.com", "hotmail.com"),
        "+52",
    ),
    Country(
        "Brazil",
        2,
        ("São Paulo", "Curitiba", "Joinville", "Campinas"),
        ("Ltda.", "S.A."),
        "portuguese",
        ("gmail.com", "outlook.com"),
        "+55",
    ),
    Country(
        "Japan",
        3,
        ("Nagoya", "Osaka", "Hamamatsu", "Kobe"),
        ("K.K.", "Co., Ltd."),
        "japanese",
        ("gmail.com",),
        "+81",
    ),
    Country(
        "South Korea",
        2,
        ("Ulsan", "Changwon", "Suwon"),
        ("Co., Ltd.",),
        "korean",
        ("gmail.com",),
        "+82",
    ),
    Country(
        "China",
        3,
        ("Suzhou", "Shenzhen", "Ningbo", "Tianjin"),
        ("Co., Ltd.",),
        "chinese",
        ("qq.com", "163.com"),
        "+86",
    ),
    Country(
        "India",
        4,
        ("Pune", "Chennai", "Bengaluru", "Ahmedabad"),
        ("Pvt. Ltd.", "Ltd."),
        "indian",
        ("gmail.com", "rediffmail.com", "yahoo.co.in"),
        "+91",
    ),
)

# Given names and family names per naming tradition.
PEOPLE_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "german": (
        (
            "Anna",
            "Lukas",
            "Julia",
            "Tobias",
            "Katrin",
            "Stefan",
            "Miriam",
            "Jonas",
            "Sabine",
            "Florian",
            "Lena",
            "Markus",
            "Claudia",
            "Matthias",
        ),
        (
            "Müller",
            "Schmidt",
            "Weber",
            "Becker",
            "Hoffmann",
            "Schäfer",
            "Koch",
            "Richter",
            "Wolf",
            "Neumann",
            "Brandt",
            "Krüger",
            "Vogt",
            "Lindner",
        ),
    ),
    "english": (
        (
            "James",
            "Emily",
            "Michael",
            "Sarah",
            "David",
            "Olivia",
            "Daniel",
            "Rachel",
            "Kevin",
            "Laura",
            "Brian",
            "Megan",
            "Andrew",
            "Nicole",
        ),
        (
            "Smith",
            "Johnson",
            "Walker",
            "Thompson",
            "Clarke",
            "Harris",
            "Bennett",
            "Turner",
            "Hughes",
            "Reed",
            "Foster",
            "Coleman",
            "Murphy",
            "Price",
        ),
    ),
    "french": (
        (
            "Camille",
            "Julien",
            "Claire",
            "Nicolas",
            "Sophie",
            "Mathieu",
            "Élise",
            "Antoine",
            "Manon",
            "Olivier",
        ),
        (
            "Martin",
            "Bernard",
            "Dubois",
            "Lefèvre",
            "Moreau",
            "Girard",
            "Fontaine",
            "Rousseau",
            "Chevalier",
            "Dufour",
        ),
    ),
    "italian": (
        (
            "Giulia",
            "Marco",
            "Francesca",
            "Luca",
            "Chiara",
            "Alessandro",
            "Sara",
            "Matteo",
            "Elena",
            "Davide",
        ),
        (
            "Rossi",
            "Bianchi",
            "Colombo",
            "Ferrari",
            "Romano",
            "Galli",
            "Conti",
            "Marchetti",
            "Barbieri",
            "Fontana",
        ),
    ),
    "spanish": (
        (
            "Lucía",
            "Javier",
            "María",
            "Alejandro",
            "Carmen",
            "Diego",
            "Paula",
            "Sergio",
            "Elena",
            "Andrés",
        ),
        (
            "García",
            "Martínez",
            "López",
            "Sánchez",
            "Romero",
            "Navarro",
            "Torres",
            "Ramírez",
            "Castillo",
            "Herrera",
        ),
    ),
    "dutch": (
        ("Sanne", "Daan", "Lotte", "Bram", "Eva", "Thijs", "Femke", "Joris"),
        ("de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Smit", "Mulder", "de Boer"),
    ),
    "polish": (
        ("Anna", "Piotr", "Katarzyna", "Tomasz", "Magdalena", "Paweł", "Agnieszka", "Michał"),
        (
            "Nowak",
            "Kowalski",
            "Wiśniewski",
            "Wójcik",
            "Kamiński",
            "Lewandowski",
            "Zieliński",
            "Szymański",
        ),
    ),
    "swedish": (
        ("Elin", "Erik", "Karin", "Johan", "Maja", "Anders", "Sofia", "Lars"),
        (
            "Andersson",
            "Johansson",
            "Karlsson",
            "Nilsson",
            "Eriksson",
            "Larsson",
            "Lindqvist",
            "Berg",
        ),
    ),
    "czech": (
        ("Tereza", "Jan", "Lucie", "Petr", "Kateřina", "Martin", "Eva", "Tomáš"),
        ("Novák", "Svoboda", "Dvořák", "Černý", "Procházka", "Kučera", "Veselý", "Horák"),
    ),
    "portuguese": (
        ("Ana", "João", "Mariana", "Pedro", "Beatriz", "Rafael", "Camila", "Lucas"),
        ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Almeida", "Ferreira"),
    ),
    "japanese": (
        ("Haruto", "Yui", "Takeshi", "Aiko", "Kenji", "Naomi", "Daisuke", "Emi"),
        ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura"),
    ),
    "korean": (
        ("Minjun", "Seoyeon", "Jihoon", "Soyeon", "Hyunwoo", "Jiwoo"),
        ("Kim", "Lee", "Park", "Choi", "Jung", "Kang"),
    ),
    "chinese": (
        ("Wei", "Jing", "Hao", "Li", "Ming", "Xiu", "Jun", "Yan"),
        ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang"),
    ),
    "indian": (
        (
            "Aarav",
            "Priya",
            "Rohan",
            "Ananya",
            "Vikram",
            "Sneha",
            "Arjun",
            "Kavya",
            "Rahul",
            "Meera",
        ),
        (
            "Sharma",
            "Patel",
            "Iyer",
            "Reddy",
            "Kulkarni",
            "Nair",
            "Gupta",
            "Deshpande",
            "Rao",
            "Mehta",
        ),
    ),
}

# (title, weight, profile): profile "buyer" titles are the people who evaluate and buy motion
# components, "influencer" titles shape the decision, "outsider" titles rarely buy anything.
TITLES = (
    ("Plant Manager", 7, "buyer"),
    ("Manufacturing Engineer", 10, "buyer"),
    ("Process Engineer", 6, "buyer"),
    ("Automation Engineer", 7, "buyer"),
    ("Maintenance Supervisor", 6, "buyer"),
    ("Maintenance Manager", 4, "buyer"),
    ("Reliability Engineer", 3, "buyer"),
    ("Procurement Lead", 5, "buyer"),
    ("Strategic Buyer", 3, "buyer"),
    ("Purchasing Manager", 3, "buyer"),
    ("R&D Engineer", 6, "buyer"),
    ("Head of R&D", 2, "buyer"),
    ("Design Engineer", 4, "buyer"),
    ("Director of Operations", 3, "buyer"),
    ("VP Manufacturing", 2, "buyer"),
    ("Quality Director", 2, "influencer"),
    ("Quality Engineer", 4, "influencer"),
    ("Production Supervisor", 4, "influencer"),
    ("Supply Chain Manager", 3, "influencer"),
    ("MES Specialist", 2, "influencer"),
    ("IT Manager", 2, "influencer"),
    ("Chief Technology Officer", 1, "influencer"),
    ("Managing Director", 1, "influencer"),
    ("Controller", 1, "outsider"),
    ("Sales Manager", 2, "outsider"),
    ("Marketing Coordinator", 1, "outsider"),
    ("HR Business Partner", 1, "outsider"),
    ("Mechanical Engineering Student", 4, "student"),
    ("PhD Candidate, Robotics", 1, "student"),
    ("Engineering Intern", 2, "student"),
)

PRODUCT_LINES = {
    "linear_actuators": (
        "LA-200 linear actuator",
        "LA-450 heavy-duty actuator",
        "LA-IP69 washdown actuator",
    ),
    "servo_drives": ("SD-40 servo drive", "SD-90 multi-axis drive", "SD-Retro retrofit kit"),
    "gearboxes": ("PG-60 planetary gearbox", "HG-120 hypoid gearbox"),
    "machine_vision": ("VX-5 inspection camera", "VX-Line vision controller"),
    "robot_grippers": ("RG-2 electric gripper", "RG-Vac vacuum end-effector"),
}

WHITEPAPERS = (
    "OEE improvement guide for CNC lines",
    "Washdown-rated automation for food plants",
    "Cleanroom motion control for medical device assembly",
    "Predictive maintenance with vibration sensors",
    "Retrofitting servo drives without downtime",
    "Electric versus pneumatic actuators: total cost of ownership",
)

CASE_STUDIES = (
    "tier-1-supplier-cuts-changeover-time",
    "dairy-plant-moves-to-washdown-actuators",
    "implant-maker-validates-cleanroom-axes",
    "job-shop-automates-deburring",
)

BLOG_POSTS = (
    "choosing-a-linear-actuator",
    "servo-tuning-basics",
    "what-iec-61800-means-for-drives",
    "vision-inspection-on-fast-packaging-lines",
    "how-to-size-a-planetary-gearbox",
    "cobots-and-end-effectors-in-machine-tending",
)

CAREERS = (
    "field-service-engineer",
    "application-engineer",
    "graduate-programme",
    "working-student-mechatronics",
)

# Trade shows and the month each usually takes place in.
TRADE_SHOWS = (
    ("Hannover Messe", 4),
    ("Automatica", 6),
    ("IMTS", 9),
    ("FABTECH", 10),
    ("Pack Expo", 11),
    ("MD&M West", 2),
    ("EMO Hannover", 9),
)
WEBINARS = (
    "Predictive maintenance for CNC lines",
    "Retrofitting servo drives without downtime",
    "Vision inspection for packaging lines",
    "Sizing actuators for washdown areas",
)
EMAIL_CAMPAIGNS = (
    "Newsletter",
    "Nurture: linear actuators",
    "Nurture: servo retrofits",
    "Product launch: VX-Line",
)

# First-touch channels: (source, medium, campaign, weight).
FIRST_TOUCHES = (
    ("google", "cpc", "search-linear-actuators", 14),
    ("google", "organic", "", 22),
    ("bing", "cpc", "search-servo-drives", 3),
    ("linkedin", "paid_social", "abm-automotive-tier1", 7),
    ("linkedin", "organic_social", "", 5),
    ("trade_show", "event", "", 12),
    ("webinar", "event", "", 9),
    ("partner", "referral", "distributor-referrals", 6),
    ("newsletter", "email", "newsletter-signup", 6),
    ("direct", "none", "", 12),
    ("youtube", "video", "actuator-sizing-series", 4),
)

MARKETING_NOTES = (
    "Met at our booth; asked about IP69K actuators for a new washdown line.",
    "Replacing pneumatic cylinders on two assembly cells next year.",
    "Distributor says the plant runs a tender for servo retrofits in Q3.",
    "Asked for a reference customer in the same segment.",
    "Interested in the vision controller for end-of-line inspection.",
    "Budget approved for a pilot cell; needs CAD models before the design review.",
)
