"""Static names: Shanghai's 16 districts and a selection of their real streets and towns (街道/镇)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class District:
    slug: str
    name_zh: str
    name_en: str
    weight: float
    pay_factor: float
    streets: tuple[tuple[str, str], ...]


def _streets(text: str) -> tuple[tuple[str, str], ...]:
    pairs = (item.split("=") for item in text.split(","))
    return tuple((zh.strip(), en.strip()) for zh, en in pairs)


DISTRICTS: Final[tuple[District, ...]] = (
    District(
        "huangpu",
        "黄浦区",
        "Huangpu District",
        0.05,
        1.08,
        _streets(
            "南京东路街道=Nanjing Donglu,外滩街道=Waitan,半淞园路街道=Bansongyuan Lu,小东门街道=Xiaodongmen,"
            "豫园街道=Yuyuan,老西门街道=Laoximen,五里桥街道=Wuliqiao,打浦桥街道=Dapuqiao,"
            "淮海中路街道=Huaihai Zhonglu,瑞金二路街道=Ruijin Erlu"
        ),
    ),
    District(
        "xuhui",
        "徐汇区",
        "Xuhui District",
        0.06,
        1.08,
        _streets(
            "天平路街道=Tianping Lu,湖南路街道=Hunan Lu,斜土路街道=Xietu Lu,枫林路街道=Fenglin Lu,"
            "长桥街道=Changqiao,田林街道=Tianlin,虹梅路街道=Hongmei Lu,康健新村街道=Kangjian Xincun,"
            "徐家汇街道=Xujiahui,凌云路街道=Lingyun Lu,龙华街道=Longhua,漕河泾街道=Caohejing,华泾镇=Huajing"
        ),
    ),
    District(
        "changning",
        "长宁区",
        "Changning District",
        0.05,
        1.07,
        _streets(
            "华阳路街道=Huayang Lu,江苏路街道=Jiangsu Lu,新华路街道=Xinhua Lu,周家桥街道=Zhoujiaqiao,"
            "天山路街道=Tianshan Lu,仙霞新村街道=Xianxia Xincun,虹桥街道=Hongqiao,程家桥街道=Chengjiaqiao,"
            "北新泾街道=Beixinjing,新泾镇=Xinjing"
        ),
    ),
    District(
        "jingan",
        "静安区",
        "Jing'an District",
        0.07,
        1.08,
        _streets(
            "江宁路街道=Jiangning Lu,石门二路街道=Shimen Erlu,南京西路街道=Nanjing Xilu,静安寺街道=Jing'ansi,"
            "曹家渡街道=Caojiadu,天目西路街道=Tianmu Xilu,北站街道=Beizhan,宝山路街道=Baoshan Lu,"
            "共和新路街道=Gonghe Xinlu,大宁路街道=Daning Lu,彭浦新村街道=Pengpu Xincun,临汾路街道=Linfen Lu,"
            "芷江西路街道=Zhijiang Xilu,彭浦镇=Pengpu"
        ),
    ),
    District(
        "putuo",
        "普陀区",
        "Putuo District",
        0.05,
        1.03,
        _streets(
            "曹杨新村街道=Caoyang Xincun,长风新村街道=Changfeng Xincun,长寿路街道=Changshou Lu,"
            "甘泉路街道=Ganquan Lu,石泉路街道=Shiquan Lu,宜川路街道=Yichuan Lu,万里街道=Wanli,"
            "真如镇街道=Zhenru Zhen,长征镇=Changzheng,桃浦镇=Taopu"
        ),
    ),
    District(
        "hongkou",
        "虹口区",
        "Hongkou District",
        0.04,
        1.03,
        _streets(
            "欧阳路街道=Ouyang Lu,曲阳路街道=Quyang Lu,广中路街道=Guangzhong Lu,嘉兴路街道=Jiaxing Lu,"
            "凉城新村街道=Liangcheng Xincun,四川北路街道=Sichuan Beilu,北外滩街道=Bei Waitan,"
            "江湾镇街道=Jiangwan Zhen"
        ),
    ),
    District(
        "yangpu",
        "杨浦区",
        "Yangpu District",
        0.06,
        1.03,
        _streets(
            "定海路街道=Dinghai Lu,平凉路街道=Pingliang Lu,江浦路街道=Jiangpu Lu,四平路街道=Siping Lu,"
            "控江路街道=Kongjiang Lu,长白新村街道=Changbai Xincun,延吉新村街道=Yanji Xincun,殷行街道=Yinhang,"
            "大桥街道=Daqiao,五角场街道=Wujiaochang,新江湾城街道=Xinjiangwancheng,长海路街道=Changhai Lu"
        ),
    ),
    District(
        "minhang",
        "闵行区",
        "Minhang District",
        0.09,
        1.0,
        _streets(
            "江川路街道=Jiangchuan Lu,古美街道=Gumei,新虹街道=Xinhong,浦锦街道=Pujin,莘庄镇=Xinzhuang,"
            "七宝镇=Qibao,颛桥镇=Zhuanqiao,华漕镇=Huacao,虹桥镇=Hongqiao,梅陇镇=Meilong,吴泾镇=Wujing,"
            "马桥镇=Maqiao,浦江镇=Pujiang,莘庄工业区=Xinzhuang Industrial Zone"
        ),
    ),
    District(
        "baoshan",
        "宝山区",
        "Baoshan District",
        0.07,
        0.99,
        _streets(
            "友谊路街道=Youyi Lu,吴淞街道=Wusong,张庙街道=Zhangmiao,罗店镇=Luodian,大场镇=Dachang,"
            "杨行镇=Yanghang,月浦镇=Yuepu,罗泾镇=Luojing,顾村镇=Gucun,高境镇=Gaojing,庙行镇=Miaohang,"
            "淞南镇=Songnan,宝山城市工业园区=Baoshan Urban Industrial Park"
        ),
    ),
    District(
        "jiading",
        "嘉定区",
        "Jiading District",
        0.06,
        0.98,
        _streets(
            "新成路街道=Xincheng Lu,真新街道=Zhenxin,嘉定镇街道=Jiading Zhen,南翔镇=Nanxiang,安亭镇=Anting,"
            "马陆镇=Malu,徐行镇=Xuhang,华亭镇=Huating,外冈镇=Waigang,江桥镇=Jiangqiao,菊园新区=Juyuan New Area,"
            "嘉定工业区=Jiading Industrial Zone"
        ),
    ),
    District(
        "pudong",
        "浦东新区",
        "Pudong New Area",
        0.16,
        1.07,
        _streets(
            "陆家嘴街道=Lujiazui,潍坊新村街道=Weifang Xincun,洋泾街道=Yangjing,塘桥街道=Tangqiao,花木街道=Huamu,"
            "张江镇=Zhangjiang,川沙新镇=Chuansha Xinzhen,北蔡镇=Beicai,高桥镇=Gaoqiao,金桥镇=Jinqiao,唐镇=Tangzhen,"
            "三林镇=Sanlin,周浦镇=Zhoupu,惠南镇=Huinan,陆家嘴金融贸易区=Lujiazui Finance and Trade Zone"
        ),
    ),
    District(
        "jinshan",
        "金山区",
        "Jinshan District",
        0.03,
        0.93,
        _streets(
            "石化街道=Shihua,朱泾镇=Zhujing,枫泾镇=Fengjing,张堰镇=Zhangyan,亭林镇=Tinglin,吕巷镇=Lüxiang,"
            "廊下镇=Langxia,金山卫镇=Jinshanwei,漕泾镇=Caojing,山阳镇=Shanyang,金山工业区=Jinshan Industrial Zone"
        ),
    ),
    District(
        "songjiang",
        "松江区",
        "Songjiang District",
        0.06,
        0.98,
        _streets(
            "岳阳街道=Yueyang,永丰街道=Yongfeng,方松街道=Fangsong,中山街道=Zhongshan,广富林街道=Guangfulin,"
            "九里亭街道=Jiuliting,泗泾镇=Sijing,佘山镇=Sheshan,车墩镇=Chedun,新桥镇=Xinqiao,洞泾镇=Dongjing,"
            "九亭镇=Jiuting,泖港镇=Maogang"
        ),
    ),
    District(
        "qingpu",
        "青浦区",
        "Qingpu District",
        0.04,
        0.97,
        _streets(
            "夏阳街道=Xiayang,盈浦街道=Yingpu,香花桥街道=Xianghuaqiao,朱家角镇=Zhujiajiao,练塘镇=Liantang,"
            "金泽镇=Jinze,赵巷镇=Zhaoxiang,徐泾镇=Xujing,华新镇=Huaxin,重固镇=Chonggu,白鹤镇=Baihe"
        ),
    ),
    District(
        "fengxian",
        "奉贤区",
        "Fengxian District",
        0.04,
        0.94,
        _streets(
            "西渡街道=Xidu,奉浦街道=Fengpu,金海街道=Jinhai,南桥镇=Nanqiao,奉城镇=Fengcheng,庄行镇=Zhuanghang,"
            "金汇镇=Jinhui,四团镇=Situan,青村镇=Qingcun,柘林镇=Zhelin,海湾镇=Haiwan"
        ),
    ),
    District(
        "chongming",
        "崇明区",
        "Chongming District",
        0.02,
        0.92,
        _streets(
            "城桥镇=Chengqiao,堡镇=Baozhen,新河镇=Xinhe,庙镇=Miaozhen,竖新镇=Shuxin,向化镇=Xianghua,"
            "三星镇=Sanxing,陈家镇=Chenjia,长兴镇=Changxing,横沙乡=Hengsha"
        ),
    ),
)

# Two-character "brand" stems for second-tier union names, with their romanisation.
BRANDS: Final[tuple[tuple[str, str], ...]] = _streets(
    "汇智=Huizhi,聚鑫=Juxin,创智=Chuangzhi,金融=Jinrong,科技=Keji,智造=Zhizao,国际=Guoji,商务=Shangwu,"
    "联创=Lianchuang,众创=Zhongchuang,星光=Xingguang,华府=Huafu,锦绣=Jinxiu,东方=Dongfang,新城=Xincheng,"
    "滨江=Binjiang,文创=Wenchuang,物流=Wuliu,数码=Shuma,医药=Yiyao,时尚=Shishang,绿谷=Lügu,未来=Weilai,"
    "凯旋=Kaixuan,嘉元=Jiayuan,和平=Heping,幸福=Xingfu,长青=Changqing,康乐=Kangle,云谷=Yungu,"
    "海纳=Haina,君悦=Junyue,恒隆=Henglong,宏图=Hongtu,新业=Xinye,同心=Tongxin,申城=Shencheng,浦江=Pujiang,"
    "融创=Rongchuang,万象=Wanxiang"
)

# service model → (Chinese suffix, English suffix); several forms per model.
SECOND_TIER_SUFFIXES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "park": (("园区联合工会", "Park Joint Trade Union"), ("产业园工会联合会", "Industrial Park Union Federation")),
    "building": (("楼宇联合工会", "Building Joint Trade Union"), ("大厦联合工会", "Tower Joint Trade Union")),
    "enterprise": (("企业联合工会", "Enterprise Joint Trade Union"), ("行业联合工会", "Trade Joint Trade Union")),
    "community": (("社区联合工会", "Community Joint Trade Union"), ("居民区联合工会", "Neighbourhood Joint Union")),
}

CENTRAL: Final = frozenset({"huangpu", "xuhui", "changning", "jingan", "hongkou", "putuo", "yangpu"})

# service model weights for central and outer districts (buildings downtown, parks and enterprises outside)
SERVICE_MODEL_WEIGHTS: Final[dict[bool, dict[str, float]]] = {
    True: {"building": 0.42, "community": 0.25, "enterprise": 0.15, "park": 0.18},
    False: {"building": 0.15, "community": 0.22, "enterprise": 0.30, "park": 0.33},
}


def street_kind_en(name_zh: str) -> str:
    if name_zh.endswith("街道"):
        return "Subdistrict"
    if name_zh.endswith("乡"):
        return "Township"
    if name_zh.endswith("镇"):
        return "Town"
    return ""
