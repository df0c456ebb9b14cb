"""Fixed vocabulary of the synthetic demo city: places, names, questions, categories, texts.

Everything here is invented for the demo (names borrow only the flavour of
real Chinese place and person names). Nothing in this module is random; the
random parts of the city live in :mod:`evalkit.datasets.demo_admin` and
:mod:`evalkit.datasets.demo_survey`.
"""

from __future__ import annotations

from attrs import frozen

CITY = "示范市"
#: resident-ID region codes of the city's districts (first six digits); invented
CITY_REGION_CODES = ("439001", "439002", "439003", "439021", "439022")

#: years of the demo (one survey wave per year, wave = year - 2019)
YEARS: tuple[int, ...] = (2020, 2021, 2022, 2023, 2024)


@frozen
class Street:
    code: str  # 3 digits
    name: str
    urban: bool
    communities: tuple[str, ...]  # name stems, "社区" is appended


@frozen
class District:
    code: str  # 3 digits; ids of 东城区 and 西湖区 start with "0"
    name: str
    streets: tuple[Street, ...]


DISTRICTS: tuple[District, ...] = (
    District("043", "东城区", (
        Street("001", "迎春街道", True, ("春晖", "锦华", "梧桐", "和平里")),
        Street("002", "文昌街道", True, ("书院", "文庙坪", "杏林", "学府")),
        Street("003", "桂花坪街道", True, ("桂香", "金桂", "丹桂园", "木樨")),
    )),
    District("058", "西湖区", (
        Street("001", "湖滨街道", True, ("柳堤", "荷风", "渔舟", "观澜", "映月")),
        Street("002", "望月街道", True, ("望岳", "月湖", "星沙湾", "枫林", "新桥")),
    )),
    District("112", "河口区", (
        Street("001", "港口街道", True, ("龙湾港", "码头", "船厂", "江帆", "长堤")),
        Street("002", "白鹭镇", False, ("白鹭洲", "芦花", "沙洲", "鹭鸣")),
    )),
    District("207", "青山县", (
        Street("001", "城关镇", True, ("青山坪", "县前", "南门")),
        Street("002", "石门镇", False, ("石门", "溪口", "岩脚")),
        Street("003", "茶园乡", False, ("茶园", "云雾", "高坡")),
    )),
    District("315", "松岭县", (
        Street("001", "松岭镇", False, ("松岭", "松涛")),
        Street("002", "云台乡", False, ("云台", "仙人桥", "竹山")),
        Street("003", "清水乡", False, ("清水塘", "杨家冲", "水口")),
    )),
)

# ---- people --------------------------------------------------------------------------
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林阳建国志文海峰东成德福永庆"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀玲桂英燕萍红梅琳雪婷颖倩洁慧佳欣悦怡晶兰凤琴云莉丹玉珍春蓉"

#: province-level region codes of migrants' birthplaces (first six digits, invented city parts)
MIGRANT_REGION_CODES = (
    "110105", "130102", "140105", "210102", "320106", "330106", "340104", "350102", "360102",
    "370102", "410105", "420106", "440106", "450103", "500103", "510104", "520102", "530102",
    "610104", "620102",
)
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
    "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "180", "181", "182", "183", "185", "186", "187", "188", "189",
)

COMMENTS = (
    "希望多组织一些老年人活动", "小区停车太难了，希望能规划车位", "社工服务很好，感谢",
    "垃圾分类投放点太远", "希望增加儿童托管服务", "晚上广场舞噪音太大", "物业费偏高，服务一般",
    "希望社区食堂晚上也开放", "办事效率比以前高了", "路灯坏了很久没人修", "希望多开展健康讲座",
    "志愿者很热心", "没有意见", "无", "希望老楼加装电梯", "外地人办居住证手续麻烦",
    "邻里关系比以前好了", "希望公示资金使用情况", "活动通知太晚，很多人不知道", "希望多关心独居老人",
    "议事会的建议落实得不错", "下水道经常堵", "希望有更多适合上班族的周末活动", "总体满意",
)
#: comments that carry personal data, as residents do write them; {name}, {phone}, {address}
COMMENT_PII_TEMPLATES = (
    "我是{name}，电话{phone}，家里水管漏水请尽快联系",
    "{address}楼道灯不亮，请处理，联系人{name}",
    "有事可以打我电话{phone}",
)

# ---- survey items --------------------------------------------------------------------


@frozen
class ItemSpec:
    name: str
    source_name: str
    construct: str
    zh: str
    en: str
    reverse: bool = False
    labels: str = "agree5"  # value label set


ITEMS: tuple[ItemSpec, ...] = (
    ItemSpec("gain_1", "A1", "gain", "近年来社区服务让我的生活更方便了",
             "Community services have made my life more convenient in recent years"),
    ItemSpec("gain_2", "A2", "gain", "遇到困难时，我能从社区得到需要的帮助",
             "When in difficulty I can get the help I need from the community"),
    ItemSpec("gain_3", "A3", "gain", "社区的变化让我得到了实实在在的好处",
             "Changes in the community have brought me real benefits"),
    ItemSpec("gain_4", "A4", "gain", "我的意见和需求能够得到社区的回应",
             "My opinions and needs get a response from the community"),
    ItemSpec("happy_1", "A5", "happiness", "总的来说，我对现在的生活感到幸福",
             "All in all, I feel happy with my life now"),
    ItemSpec("happy_2", "A6", "happiness", "住在这个社区让我心情舒畅",
             "Living in this community puts me at ease"),
    ItemSpec("happy_3", "A7", "happiness", "我常常为生活中的琐事感到烦恼",
             "I am often troubled by everyday matters", reverse=True),
    ItemSpec("secure_1", "A8", "security", "晚上独自在社区里走动，我感到安全",
             "I feel safe walking alone in the community at night"),
    ItemSpec("secure_2", "A9", "security", "社区的治安状况良好",
             "Public order in the community is good"),
    ItemSpec("secure_3", "A10", "security", "我担心家里的财物被盗",
             "I worry that things will be stolen from my home", reverse=True),
    ItemSpec("belong_1", "A11", "belonging", "我把这个社区当作自己的家",
             "I regard this community as my home"),
    ItemSpec("belong_2", "A12", "belonging", "我愿意为社区的事情出一份力",
             "I am willing to do my part for community affairs"),
    ItemSpec("belong_3", "A13", "belonging", "我和邻居们相处融洽",
             "I get along well with my neighbours"),
    ItemSpec("belong_4", "A14", "belonging", "如果有机会，我愿意搬离这个社区",
             "Given the chance, I would move out of this community", reverse=True),
    ItemSpec("satis_1", "B1", "satisfaction", "您对社区为老服务的满意程度",
             "Satisfaction with the community's services for older people", labels="satisfied5"),
    ItemSpec("satis_2", "B2", "satisfaction", "您对社区文体活动的满意程度",
             "Satisfaction with community cultural and sports activities", labels="satisfied5"),
    ItemSpec("satis_3", "B3", "satisfaction", "您对社区工作人员办事效率的满意程度",
             "Satisfaction with how efficiently community staff get things done",
             labels="satisfied5"),
    ItemSpec("satis_4", "B4", "satisfaction", "您对社区环境卫生的满意程度",
             "Satisfaction with the community's cleanliness and environment", labels="satisfied5"),
    ItemSpec("partic_1", "C1", "participation", "过去一年，您是否参加过社区组织的活动？",
             "In the past year, did you take part in an activity the community organised?",
             labels="yesno"),
    ItemSpec("partic_2", "C2", "participation", "过去一年，您是否参加过志愿服务？",
             "In the past year, did you volunteer?", labels="yesno"),
    ItemSpec("partic_3", "C3", "participation", "过去一年，您是否参加过居民议事会或协商会议？",
             "In the past year, did you attend a residents' deliberation council or meeting?",
             labels="yesno"),
)

CONSTRUCT_ORDER = ("gain", "happiness", "security", "belonging", "satisfaction", "participation")

VALUE_LABEL_SETS: dict[str, dict[int, str]] = {
    "agree5": {1: "非常不同意", 2: "不太同意", 3: "一般", 4: "比较同意", 5: "非常同意"},
    "satisfied5": {1: "非常不满意", 2: "不太满意", 3: "一般", 4: "比较满意", 5: "非常满意"},
    "yesno": {0: "否", 1: "是"},
}
MISSING_CODES: dict[int, str] = {8: "不知道", 9: "拒答"}

GENDER_LABELS = {1: "男", 2: "女"}
HUKOU_LABELS = {1: "本地户籍", 2: "外地户籍"}
EDUCATION_LABELS = {1: "小学及以下", 2: "初中", 3: "高中/中专", 4: "大专及以上"}
EDUCATION_CODES = ("primary", "junior", "senior", "college")  # canonical value of code 1..4

# ---- services and requests -----------------------------------------------------------
SERVICE_BLOCKS = ("为老服务", "儿童关爱", "邻里互助", "协商议事", "文体活动", "困难帮扶", "助残服务",
                  "青少年成长")
SERVICE_METHODS = ("casework", "group", "event", "home_visit")
REQUEST_CHANNELS = ("hotline", "walk_in", "wechat", "grid_worker")
REQUEST_CATEGORIES = ("环境卫生", "物业管理", "邻里纠纷", "养老服务", "停车", "噪音", "市政设施",
                      "政策咨询")
#: median hours to resolution by category outside pilots (same order as REQUEST_CATEGORIES)
REQUEST_MEDIAN_HOURS = (30.0, 72.0, 96.0, 48.0, 60.0, 24.0, 80.0, 6.0)

OPERATORS = (
    "示范市同心社会工作服务中心", "示范市暖阳社工服务社", "东城区邻里守望公益服务中心",
    "示范市仁爱慈善会", "西湖区益家社会工作服务中心", "河口区青年志愿者协会",
    "青山县乡村振兴社工站", "示范市和谐家园社区发展中心",
)

# ---- documents -----------------------------------------------------------------------
PANEL_INSTRUCTIONS = (
    "填表说明",
    "1. 本表由各社区居委会按年度填报，每个社区每年一行。",
    "2. 社区编码为9位数字，请按文本格式填写，保留开头的0。",
    "3. 社区社会组织数、持证社工数、注册志愿者数填写年末数。",
    "4. 志愿服务时长为全年累计小时数；投入资金单位为万元。",
    "5. 服务中心面积单位为平方米；未统计的可留空。",
    "6. 数据填报在“面板数据”工作表，请勿修改表头。",
    "【合成演示数据】本文件由 evalkit 生成，所有数字均为虚构，非真实统计。",
)

README_TEXT = """\
SYNTHETIC DATA — 合成演示数据，非真实调查
==========================================

【中文】
本文件夹中的全部数据均由 evalkit（evalkit.datasets.demo）按固定随机种子 {seed} 模拟生成，
用于演示和测试。“{city}”及其区、街道、社区均为虚构；问卷中的姓名、身份证号、手机号、住址
和意见建议都是虚构的，不对应任何真实的人。请勿将这些数据当作真实调查结果引用。

模拟中埋入了已知的“真实效应”（truth.csv），用来检验评估方法能否把它们找回来。

文件：
  study.yaml              研究配置（synthetic: true）
  codebook.yaml           问卷编码本
  communities.csv         社区名录（UTF-8 带 BOM，中文表头）
  pilots.csv              试点名单（GBK 编码，中文表头）
  community_panel.xlsx    社区年度投入面板（工作表“面板数据”）
  population_margins.csv  人口结构（用于加权）
  survey.sav              居民问卷（SPSS，含值标签和用户缺失值 8=不知道、9=拒答）
  services.parquet        服务记录
  requests.csv            居民诉求工单
  truth.csv               模拟中设定的真实效应

【English】
Every file in this folder is SYNTHETIC: generated by evalkit (evalkit.datasets.demo) from the
fixed random seed {seed} for demonstrations and tests. "{city}" (Demo City), its districts,
streets and communities are invented. The people in the survey — names, resident ID numbers,
mobile numbers, addresses and comments — are fictitious and do not belong to any real person.
Do not cite these data as the results of a real survey.

The simulation plants known true effects (truth.csv) so that evaluation methods can be
checked against them. See evalkit/datasets/DEMO.md for the data-generating process.
"""
