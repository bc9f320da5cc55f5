"""Demo people: the three named accounts and a crowd of generated members.

Generated members have plausible mixed names (Chinese in characters, Chinese in pinyin,
English), addresses in Chinese cities, join dates over the past two years, and emails at
example.com (a reserved domain: nothing is ever delivered there).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.membership.models import Role

GENERATED_PASSWORD = "bookstation-member"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    name: str
    role: Role


ADMIN = DemoAccount("admin@bookstation.test", "bookstation-admin", "Alex Morgan", Role.ADMIN)
STAFF = DemoAccount("staff@bookstation.test", "bookstation-staff", "Lin Yue", Role.STAFF)
READER = DemoAccount("reader@bookstation.test", "bookstation-reader", "Rita Reader", Role.MEMBER)
DEMO_ACCOUNTS = (ADMIN, STAFF, READER)

READER_ADDRESS = {
    "phone": "+86 138 0013 8000",
    "address_line1": "88 Nanjing West Road",
    "address_line2": "Apartment 1203",
    "city": "Shanghai",
    "region": "Shanghai",
    "postcode": "200041",
    "country": "China",
}


@dataclass
class PersonPlan:
    """A member to create (generated or the demo reader), and what the history needs of them."""

    email: str
    name: str
    joined_at: datetime
    address: dict[str, str | None]
    member_id: int | None = None
    orders: list[datetime] = field(default_factory=list)


# (characters, pinyin) so the email of 王芳 can read fang.wang
_SURNAMES = (
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"),
    ("杨", "Yang"), ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"),
    ("徐", "Xu"), ("孙", "Sun"), ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"),
    ("何", "He"), ("高", "Gao"), ("林", "Lin"), ("罗", "Luo"), ("郑", "Zheng"), ("梁", "Liang"),
    ("谢", "Xie"), ("宋", "Song"), ("唐", "Tang"), ("许", "Xu"), ("韩", "Han"), ("冯", "Feng"),
    ("邓", "Deng"), ("曹", "Cao"), ("彭", "Peng"), ("曾", "Zeng"), ("肖", "Xiao"), ("田", "Tian"),
)
_GIVEN = (
    ("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"), ("丽", "Li"),
    ("强", "Qiang"), ("磊", "Lei"), ("洋", "Yang"), ("艳", "Yan"), ("勇", "Yong"),
    ("军", "Jun"), ("杰", "Jie"), ("娟", "Juan"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"),
    ("霞", "Xia"), ("平", "Ping"), ("刚", "Gang"), ("嘉怡", "Jiayi"), ("子轩", "Zixuan"),
    ("浩然", "Haoran"), ("欣怡", "Xinyi"), ("梓涵", "Zihan"), ("宇轩", "Yuxuan"),
    ("思远", "Siyuan"), ("雨桐", "Yutong"), ("一鸣", "Yiming"), ("晓东", "Xiaodong"),
    ("美玲", "Meiling"), ("建华", "Jianhua"), ("文博", "Wenbo"), ("若曦", "Ruoxi"),
    ("俊杰", "Junjie"), ("佳琪", "Jiaqi"), ("志强", "Zhiqiang"), ("海燕", "Haiyan"),
)
_ENGLISH_FIRST = (
    "Emma", "Olivia", "Sophie", "Grace", "Chloe", "Hannah", "Lucy", "Isabel", "Amelia", "Zoe",
    "Laura", "Rachel", "Claire", "Anna", "Ella", "Mia", "James", "Oliver", "Thomas", "Daniel",
    "Henry", "Samuel", "David", "Michael", "Lucas", "Ethan", "Noah", "Ryan", "Adam", "Leo",
    "Peter", "Mark", "Kevin", "Jason", "Eric", "Vincent", "Tony", "Alice", "Helen", "Vivian",
)
_ENGLISH_LAST = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
    "Jackson", "Clarke", "Martin", "Lee", "Harris", "Cooper", "King", "Baker", "Turner", "Hill",
    "Scott", "Moore", "Ward", "Morgan", "Bell", "Murphy", "Kelly", "Young", "Allen", "Carter",
)
# (city, region, postcode, streets (English), streets (Chinese), city/region in Chinese)
_CITIES = (
    ("Shanghai", "Shanghai", "200", ("Nanjing West Road", "Huaihai Middle Road",
                                     "Century Avenue", "Hengshan Road"),
     ("南京西路", "淮海中路", "世纪大道", "衡山路"), ("上海", "上海市")),
    ("Beijing", "Beijing", "100", ("Jianguo Road", "Chang'an Avenue", "Zhongguancun Street",
                                   "Wangfujing Street"),
     ("建国路", "长安街", "中关村大街", "王府井大街"), ("北京", "北京市")),
    ("Guangzhou", "Guangdong", "510", ("Tianhe Road", "Huanshi East Road", "Zhongshan Road"),
     ("天河路", "环市东路", "中山路"), ("广州", "广东省")),
    ("Shenzhen", "Guangdong", "518", ("Shennan Avenue", "Binhe Avenue", "Keyuan Road"),
     ("深南大道", "滨河大道", "科苑路"), ("深圳", "广东省")),
    ("Hangzhou", "Zhejiang", "310", ("Yan'an Road", "Wensan Road", "Beishan Street"),
     ("延安路", "文三路", "北山街"), ("杭州", "浙江省")),
    ("Chengdu", "Sichuan", "610", ("Chunxi Road", "Renmin South Road", "Kehua North Road"),
     ("春熙路", "人民南路", "科华北路"), ("成都", "四川省")),
    ("Nanjing", "Jiangsu", "210", ("Zhongshan East Road", "Hanzhong Road", "Beijing West Road"),
     ("中山东路", "汉中路", "北京西路"), ("南京", "江苏省")),
    ("Wuhan", "Hubei", "430", ("Jiefang Avenue", "Luoyu Road", "Zhongnan Road"),
     ("解放大道", "珞喻路", "中南路"), ("武汉", "湖北省")),
    ("Xi'an", "Shaanxi", "710", ("Chang'an North Road", "Xiaozhai Road", "Dongda Street"),
     ("长安北路", "小寨路", "东大街"), ("西安", "陕西省")),
    ("Suzhou", "Jiangsu", "215", ("Renmin Road", "Shiquan Street", "Ganjiang Road"),
     ("人民路", "十全街", "干将路"), ("苏州", "江苏省")),
    ("Hong Kong", "Hong Kong", "999077", ("Nathan Road", "Queen's Road Central",
                                          "Hennessy Road"),
     ("弥敦道", "皇后大道中", "轩尼诗道"), ("香港", "香港")),
)


def demo_reader_plan(now: datetime) -> PersonPlan:
    return PersonPlan(email=READER.email, name=READER.name,
                      joined_at=now - timedelta(days=610, hours=5), address=dict(READER_ADDRESS))


def _address(rng: random.Random, chinese: bool) -> dict[str, str | None]:
    city, region, post, streets_en, streets_zh, (city_zh, region_zh) = rng.choice(_CITIES)
    pick = rng.randrange(len(streets_en))
    number = rng.randint(1, 999)
    postcode = post if len(post) == 6 else f"{post}{rng.randint(0, 999):03d}"
    flat = f"{rng.randint(1, 32)}{rng.randint(1, 8):02d}"
    if chinese:
        return {
            "phone": f"+86 1{rng.choice('3456789')}{rng.randint(0, 9)} "
                     f"{rng.randint(0, 9999):04d} {rng.randint(0, 9999):04d}",
            "address_line1": f"{streets_zh[pick]}{number}号",
            "address_line2": f"{flat}室" if rng.random() < 0.7 else None,
            "city": city_zh,
            "region": region_zh,
            "postcode": postcode,
            "country": "中国",
        }
    return {
        "phone": f"+86 1{rng.choice('3456789')}{rng.randint(0, 9)} "
                 f"{rng.randint(0, 9999):04d} {rng.randint(0, 9999):04d}",
        "address_line1": f"{number} {streets_en[pick]}",
        "address_line2": f"Room {flat}" if rng.random() < 0.6 else None,
        "city": city,
        "region": region,
        "postcode": postcode,
        "country": "China",
    }


def generate_people(rng: random.Random, count: int, start: datetime,
                    window: timedelta) -> list[PersonPlan]:
    """`count` members with unique example.com emails, joined over `window` from `start`.

    Sign-ups are spread evenly; the growth of the shop is in the order rate (`history.season`).
    """
    people: list[PersonPlan] = []
    for n in range(1, count + 1):
        style = rng.random()
        if style < 0.4:  # a Chinese name in characters
            (surname, surname_py), (given, given_py) = rng.choice(_SURNAMES), rng.choice(_GIVEN)
            name, local, chinese = f"{surname}{given}", f"{given_py}.{surname_py}", True
        elif style < 0.6:  # a Chinese name in pinyin, family name first
            (_, surname_py), (_, given_py) = rng.choice(_SURNAMES), rng.choice(_GIVEN)
            name, local, chinese = f"{surname_py} {given_py}", f"{surname_py}{given_py}", False
        else:
            first, last = rng.choice(_ENGLISH_FIRST), rng.choice(_ENGLISH_LAST)
            name, local, chinese = f"{first} {last}", f"{first}.{last}", False
        joined_at = start + window * rng.random()
        people.append(PersonPlan(
            email=f"{local.lower()}.{n}@example.com",
            name=name,
            joined_at=joined_at.replace(microsecond=0),
            address=_address(rng, chinese),
        ))
    return people
