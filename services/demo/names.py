"""Pools the demo data generator (services.demo.seed) draws from: districts, names, phrases.

Every pool is a tuple, so that a draw by index is deterministic for a given random stream.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class District:
    code: str  # 行政区划代码, e.g. 500103
    name: str  # e.g. 渝中区
    short: str  # as used in a branch name, e.g. 渝中 (渝中分公司)
    weight: int  # how often enterprises are registered there, relative


# Chongqing's districts (5001xx) and counties (5002xx), checked against the division table that
# python-stdnum ships (stdnum/cn/loc.dat). 江北区 and 渝北区 are marked there as ending in 2025
# (两江新区); codes issued before then stay in every USCC, so enterprises still carry them.
DISTRICTS: tuple[District, ...] = (
    District("500101", "万州区", "万州", 2),
    District("500102", "涪陵区", "涪陵", 2),
    District("500103", "渝中区", "渝中", 5),
    District("500104", "大渡口区", "大渡口", 2),
    District("500105", "江北区", "江北", 5),
    District("500106", "沙坪坝区", "沙坪坝", 4),
    District("500107", "九龙坡区", "九龙坡", 5),
    District("500108", "南岸区", "南岸", 4),
    District("500109", "北碚区", "北碚", 3),
    District("500110", "綦江区", "綦江", 1),
    District("500111", "大足区", "大足", 1),
    District("500112", "渝北区", "渝北", 6),
    District("500113", "巴南区", "巴南", 3),
    District("500114", "黔江区", "黔江", 1),
    District("500115", "长寿区", "长寿", 2),
    District("500116", "江津区", "江津", 2),
    District("500117", "合川区", "合川", 2),
    District("500118", "永川区", "永川", 2),
    District("500119", "南川区", "南川", 1),
    District("500120", "璧山区", "璧山", 2),
    District("500151", "铜梁区", "铜梁", 1),
    District("500152", "潼南区", "潼南", 1),
    District("500153", "荣昌区", "荣昌", 1),
    District("500154", "开州区", "开州", 1),
    District("500155", "梁平区", "梁平", 1),
    District("500156", "武隆区", "武隆", 1),
    District("500229", "城口县", "城口", 1),
    District("500230", "丰都县", "丰都", 1),
    District("500231", "垫江县", "垫江", 1),
    District("500233", "忠县", "忠县", 1),
    District("500235", "云阳县", "云阳", 1),
    District("500236", "奉节县", "奉节", 1),
    District("500237", "巫山县", "巫山", 1),
    District("500238", "巫溪县", "巫溪", 1),
    District("500240", "石柱土家族自治县", "石柱", 1),
    District("500241", "秀山土家族苗族自治县", "秀山", 1),
    District("500242", "酉阳土家族苗族自治县", "酉阳", 1),
    District("500243", "彭水苗族土家族自治县", "彭水", 1),
)

DISTRICTS_BY_CODE: dict[str, District] = {d.code: d for d in DISTRICTS}

SURNAMES: tuple[str, ...] = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛"
    "郝龚邵万严覃向冉"
)
MALE_GIVEN: tuple[str, ...] = tuple(
    "伟强军磊勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆亮成林峰建国志文"
)
FEMALE_GIVEN: tuple[str, ...] = tuple(
    "芳娜敏静丽艳娟霞燕玲婷雪琳倩颖洁慧莉红梅萍琴晶佳欣悦蓉瑶月兰"
)

# Characters of two-character trade names (字号); pairs are drawn from them.
TRADE_CHARS: tuple[str, ...] = tuple(
    "长渝新华恒通达鑫隆盛泰宏嘉瑞丰顺兴佳康利源博远诚信天宇中汇金德明辉力创锦龙江川山峡巴"
    "蜀坤鼎立正美和润方凯旭腾飞翔航晨光启元海"
)
# Trade names of well-known Chongqing companies: a demo should not impersonate them.
RESERVED_TRADE_NAMES = frozenset(
    {"长安", "隆鑫", "力帆", "宗申", "小康", "太极", "建峰", "登康", "涪陵", "川仪", "渝新"}
)

INDUSTRIES: tuple[str, ...] = (
    "科技",
    "机械制造",
    "建筑工程",
    "食品",
    "汽车零部件",
    "物流",
    "医药",
    "新材料",
    "电子",
    "能源",
    "环保科技",
    "农业开发",
    "商贸",
    "房地产开发",
    "信息技术",
    "化工",
    "纺织",
    "建材",
    "餐饮管理",
    "酒店管理",
    "旅游开发",
    "文化传媒",
    "生物科技",
    "智能装备",
    "供应链管理",
    "火锅食品",
    "摩托车配件",
    "光电",
    "仪器仪表",
    "印务",
    "物业管理",
    "数据科技",
    "水务",
    "燃气",
    "矿业",
    "精密铸造",
)

# (suffix, weight) of an ordinary enterprise's name.
COMPANY_SUFFIXES: tuple[tuple[str, int], ...] = (
    ("有限公司", 75),
    ("有限责任公司", 13),
    ("股份有限公司", 12),
)
GROUP_FORMS: tuple[str, ...] = (
    "集团有限公司",
    "控股集团有限公司",
    "实业集团有限公司",
    "集团股份有限公司",
)

# Short forms of each domain (by number) used in decision numbers, e.g. 渝环罚〔2023〕123号.
DOMAIN_ABBREVIATIONS: dict[int, str] = {
    1: "网信",
    2: "档",
    3: "新出",
    4: "影",
    5: "金融",
    6: "发改",
    7: "教",
    8: "科",
    9: "经信",
    10: "公",
    11: "民",
    12: "司",
    13: "人社",
    14: "规资",
    15: "环",
    16: "建",
    17: "城管",
    18: "交",
    19: "水",
    20: "农",
    21: "商",
    22: "文旅",
    23: "卫",
    24: "退役",
    25: "应急",
    26: "审",
    27: "市监",
    28: "体",
    29: "统",
    30: "医保",
    31: "国动",
    32: "林",
    33: "药监",
    34: "知",
    35: "法",
    36: "公积金",
    37: "税",
    38: "金管",
    39: "通管",
    40: "消",
}

# Two typical violations per domain, phrased to follow 因 in a summary.
VIOLATIONS: dict[int, tuple[str, str]] = {
    1: ("未按规定落实网络信息内容管理主体责任", "通过网络发布虚假商业信息"),
    2: ("未按规定归档、移交档案", "档案保管不善造成档案损毁"),
    3: ("未经批准擅自从事出版物发行业务", "印刷企业未按规定留存承印样本"),
    4: ("未按规定如实申报电影票房收入", "擅自放映未取得公映许可的电影"),
    5: ("小额贷款公司超出批准范围经营", "融资担保公司未按规定提取准备金"),
    6: ("未按规定办理项目核准即开工建设", "违规使用政府投资资金"),
    7: ("未经批准擅自举办培训机构", "违规开展学科类校外培训"),
    8: ("在科技项目申报中提供虚假材料", "违规使用财政科研经费"),
    9: ("未按规定落实工业节能监察要求", "违规生产列入淘汰目录的产品"),
    10: ("未按规定登记易制爆危险化学品流向", "未按规定落实治安保卫措施"),
    11: ("养老机构未按规定落实安全管理制度", "未按规定报送年度工作报告"),
    12: ("司法鉴定机构超出登记范围执业", "法律服务机构未按规定履行管理职责"),
    13: ("未按规定与劳动者订立书面劳动合同", "违反工作时间和休息休假规定"),
    14: ("未取得建设工程规划许可证进行建设", "非法占用土地"),
    15: ("超过大气污染物排放标准排放污染物", "未依法取得排污许可证排放污染物"),
    16: ("未取得施工许可证擅自施工", "未按照工程建设强制性标准施工"),
    17: ("擅自设置户外广告设施", "未按规定处置建筑垃圾"),
    18: ("道路运输车辆未按规定进行年度审验", "未取得道路运输经营许可擅自从事经营"),
    19: ("未经批准擅自取水", "在河道管理范围内违规堆放阻碍行洪的物体"),
    20: ("经营假劣农药", "未按规定建立农产品生产记录"),
    21: ("单用途商业预付卡未按规定备案", "违规从事报废机动车回收拆解"),
    22: ("旅行社未与旅游者签订旅游合同", "擅自从事互联网上网服务经营活动"),
    23: ("未取得医疗机构执业许可证擅自执业", "公共场所未按规定进行卫生检测"),
    24: ("未按规定落实退役士兵安置任务", "未按规定保障优抚对象合法权益"),
    25: ("未按规定对从业人员进行安全生产教育和培训", "未对重大危险源进行登记建档"),
    26: ("拒绝、拖延提供与审计事项有关的资料", "违规使用财政资金"),
    27: ("销售不符合食品安全标准的食品", "发布虚假广告"),
    28: ("未经批准擅自经营高危险性体育项目", "未按规定配备社会体育指导人员"),
    29: ("提供不真实的统计资料", "拒绝提供统计资料"),
    30: ("定点医药机构违规结算医保费用", "以虚记费用方式骗取医保基金"),
    31: ("未按规定履行人民防空工程维护管理义务", "擅自拆除人民防空工程"),
    32: ("未经批准擅自改变林地用途", "违规运输木材"),
    33: ("经营不符合强制性标准的医疗器械", "未按规定实施药品经营质量管理规范"),
    34: ("假冒专利", "侵犯注册商标专用权"),
    35: ("拒不履行生效法律文书确定的义务", "未按执行通知履行给付义务"),
    36: ("未按规定为职工办理住房公积金缴存登记", "逾期少缴住房公积金"),
    37: ("未按规定期限办理纳税申报", "虚开发票"),
    38: ("未按规定履行反洗钱客户身份识别义务", "违反外汇管理规定办理经常项目资金收付"),
    39: ("未经许可擅自经营增值电信业务", "未按规定落实电话用户真实身份信息登记"),
    40: ("消防设施、器材未保持完好有效", "占用、堵塞、封闭疏散通道和安全出口"),
}

CIVIL_CASES: tuple[str, ...] = (
    "买卖合同纠纷",
    "建设工程施工合同纠纷",
    "借款合同纠纷",
    "劳动争议",
    "租赁合同纠纷",
    "承揽合同纠纷",
)
CRIMES: tuple[str, ...] = ("虚开增值税专用发票罪", "污染环境罪", "重大责任事故罪", "串通投标罪")
ABNORMAL_REASONS: tuple[str, ...] = (
    "通过登记的住所或者经营场所无法联系",
    "未按规定期限公示年度报告",
    "未在责令的期限内公示有关企业信息",
)
TAXES: tuple[str, ...] = ("增值税", "企业所得税", "城市维护建设税", "房产税", "城镇土地使用税")
# Which insurance an arrears record names, by the domain that reports it.
INSURANCES: dict[int, tuple[str, ...]] = {
    13: ("基本养老保险费", "失业保险费", "工伤保险费"),
    30: ("职工基本医疗保险费", "生育保险费"),
    37: ("社会保险费", "基本养老保险费"),
}
AMOUNTS: tuple[int, ...] = (
    2000,
    5000,
    8000,
    10000,
    20000,
    30000,
    50000,
    80000,
    100000,
    150000,
    200000,
    500000,
)

# Full names of departments whose catalogue name is not "市…" (which becomes "重庆市…").
CITY_AUTHORITIES: dict[str, str] = {
    "press": "重庆市新闻出版局",
    "court": "重庆市高级人民法院",
    "tax": "国家税务总局重庆市税务局",
    "pbc": "中国人民银行重庆市分行",
    "safe": "国家外汇管理局重庆市分局",
    "nfra": "国家金融监督管理总局重庆监管局",
    "telecom": "重庆市通信管理局",
}
# District-level bodies, for the departments that have them; {d} is the district's name.
DISTRICT_AUTHORITIES: dict[str, str] = {
    "police": "重庆市公安局{d}分局",
    "ecology": "重庆市{d}生态环境局",
    "samr": "重庆市{d}市场监督管理局",
    "tax": "国家税务总局重庆市{d}税务局",
    "court": "重庆市{d}人民法院",
    "fire": "重庆市{d}消防救援支队",
    "hrss": "重庆市{d}人力资源和社会保障局",
    "housing": "重庆市{d}住房和城乡建设委员会",
    "urban": "重庆市{d}城市管理局",
    "emergency": "重庆市{d}应急管理局",
    "health": "重庆市{d}卫生健康委员会",
    "medical_insurance": "重庆市{d}医疗保障局",
    "agriculture": "重庆市{d}农业农村委员会",
    "planning": "重庆市规划和自然资源局{d}分局",
    "water": "重庆市{d}水利局",
}
