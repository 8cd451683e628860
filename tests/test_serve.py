"""The HTML gallery (translate.py --html, evaluate --html) and the local web page (python -m i2i
serve) driven through its HTTP API: real photos in, pictures of the right size out, that differ
from the input; every bad upload answered with one line while the server keeps serving."""
import io
import re
import time
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

from conftest import save_png
from i2i.__main__ import main as i2i_main
from i2i.cli import translate_main
from i2i.data.io import read_image
from test_onnx import save_run, tiny_pipeline

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from i2i.serve.app import Runs, build_app  # noqa: E402
from i2i.serve.jobs import JobBoard  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny runs of each kind the page must handle, saved as run folders."""
    root = tmp_path_factory.mktemp("runs")
    return {name: save_run(tiny_pipeline(name), root / name)
            for name in ("pix2pix", "esrgan", "stargan", "munit", "pix2pixhd", "acgan")}


def links(page: Path) -> list[str]:
    return [unquote(u) for u in re.findall(r'(?:href|src)="([^"]+)"', page.read_text())]


# ------------------------------------------------------------------------------- gallery
def test_translate_html_gallery_links_every_picture_and_evaluate_adds_scores(runs, demo_data, tmp_path):
    out = tmp_path / "out"
    src = demo_data / "paired/test/A"
    assert translate_main([str(runs["pix2pix"]), str(src), "--out", str(out), "--html"]) == 0
    page = out / "index.html"
    inputs = sorted(p.name for p in src.iterdir())
    text = page.read_text()
    assert text.count("<tr>") == len(inputs) and all(name in text for name in inputs)
    targets = links(page)
    assert targets and all((out / t).is_file() for t in targets), "every link and picture is inside the folder"
    assert not any(t.startswith(("/", "http")) for t in targets), "relative links only (the folder can be zipped)"
    for name in inputs:  # the input is copied in, the output is linked full size
        assert f"gallery/inputs/{Path(name).stem}.png" in targets and f"{Path(name).stem}.png" in targets

    assert i2i_main(["evaluate", str(out), str(demo_data / "paired/test/B"), "--html"]) == 0
    text = page.read_text()
    scores = [float(v) for v in re.findall(r"class=\"scores\">PSNR (\d+\.?\d*)", text)]
    from i2i.metrics import evaluate_folders
    want = [r["psnr"] for r in evaluate_folders(out, demo_data / "paired/test/B")]
    assert scores == pytest.approx(want, abs=0.01)
    assert text.count("<tr>") == len(inputs), "scores go into the rows translate.py wrote"
    assert text.count("<figcaption>ground truth") == len(inputs) and all((out / t).is_file() for t in links(page))


def test_super_resolution_gallery_shows_the_bicubic_upscale(runs, demo_data, tmp_path):
    out = tmp_path / "sr"
    assert translate_main([str(runs["esrgan"]), str(demo_data / "sr/test/LR"), "--out", str(out), "--html"]) == 0
    bicubic = [t for t in links(out / "index.html") if t.startswith("gallery/bicubic/") and t.endswith(".png")]
    assert bicubic
    for b in bicubic:
        name = Path(b).name
        assert read_image(out / b).rgb.shape == read_image(out / name).rgb.shape  # beside the result, same size


# ------------------------------------------------------------------------------ web page
@pytest.fixture(scope="module")
def client(runs):
    board = JobBoard(workers=1, max_pixels=16_000_000)
    app = build_app(Runs([str(p) for p in runs.values()], "cpu"), board, max_upload_mb=5)
    with TestClient(app) as c:
        yield c
    board.close()
    assert not board.root.exists(), "the temporary folder goes when the server stops"


def photo_bytes(size=(96, 64), fmt="PNG") -> bytes:
    from skimage import data
    im = Image.fromarray(data.astronaut()).resize(size)
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def finish(client, answer) -> dict:
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    for _ in range(600):
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def post(client, run, files=(), **fields):
    return client.post("/api/jobs", data={"run": run, **{k: str(v) for k, v in fields.items()}},
                       files=[("files", f) for f in files])


def picture(client, url) -> np.ndarray:
    r = client.get(url)
    assert r.status_code == 200
    return np.asarray(Image.open(io.BytesIO(r.content)))


def test_page_and_runs_list_what_each_run_offers(client):
    assert "<title>i2i</title>" in client.get("/").text
    runs = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
    assert runs["stargan"]["options"] == {"domain": ["a", "b", "c"]}
    assert runs["munit"]["options"]["style"] == ["random", "reference"]
    assert runs["esrgan"]["scale"] == 4 and runs["esrgan"]["default_tile"] > 0
    assert runs["pix2pixhd"]["input"] == "labels" and runs["acgan"]["input"] == "none"


def test_photo_in_translation_out_full_size_and_downloadable(client):
    src = photo_bytes()
    job = finish(client, post(client, "pix2pix", [("astronaut.png", src, "image/png")]))
    assert job["state"] == "done" and job["progress"] == 1
    (entry,) = job["results"]
    (out,) = entry["outputs"]
    assert out["size"] == [96, 64] == entry["input_size"]
    got = picture(client, out["url"])
    original = np.asarray(Image.open(io.BytesIO(src)))
    assert got.shape == original.shape and np.abs(got.astype(int) - original).mean() > 5
    dl = client.get(out["url"] + "?download=1")
    assert "attachment" in dl.headers["content-disposition"] and dl.content == client.get(out["url"]).content


def test_super_resolution_is_four_times_larger_in_tiles(client):
    job = finish(client, post(client, "esrgan", [("small.jpg", photo_bytes((80, 48), "JPEG"), "image/jpeg")], tile=32))
    assert job["state"] == "done"
    assert job["results"][0]["outputs"][0]["size"] == [320, 192]
    assert picture(client, job["results"][0]["outputs"][0]["url"]).shape == (192, 320, 3)


def test_all_domains_and_seeded_styles(client):
    job = finish(client, post(client, "stargan", [("x.png", photo_bytes(), "image/png")], to="", all_domains=1))
    assert [o["label"] for o in job["results"][0]["outputs"]] == ["to-a", "to-b", "to-c"]
    runs = [finish(client, post(client, "munit", [("x.png", photo_bytes(), "image/png")], styles=3, seed=5))
            for _ in range(2)]
    outs = [[client.get(o["url"]).content for o in job["results"][0]["outputs"]] for job in runs]
    assert len(outs[0]) == 3 and outs[0] == outs[1], "the same seed gives the same pictures"
    assert len(set(outs[0])) == 3, "different styles give different pictures"
    ref = finish(client, client.post("/api/jobs", data={"run": "munit"}, files=[
        ("files", ("x.png", photo_bytes(), "image/png")), ("style_from", ("ref.jpg", photo_bytes((40, 40), "JPEG")))]))
    assert ref["state"] == "done" and len(ref["results"][0]["outputs"]) == 1


def test_an_exported_onnx_run_serves_its_fixed_condition(runs, tmp_path):
    from i2i.inference import Translator
    from i2i.inference.export import export_onnx
    from i2i.pipelines import Request
    graph = tmp_path / "stargan.onnx"
    export_onnx(Translator.from_run(runs["stargan"], "cpu"), graph, Request(domain="b"), {"--to": "b"}, check=False)
    board = JobBoard()
    with TestClient(build_app(Runs([str(graph), str(runs["stargan"])], "cpu"), board)) as c:
        (onnx, torch_run) = c.get("/api/runs").json()["runs"]
        assert onnx["id"] == "stargan" and onnx["options"] == {} and onnx["exported_with"] == {"--to": "b"}
        assert torch_run["id"] == "stargan-2"
        outs = [finish(c, post(c, rid, [("x.png", photo_bytes(), "image/png")], **extra))["results"][0]["outputs"][0]
                for rid, extra in (("stargan", {}), ("stargan-2", {"to": "b"}))]
        a, b = (picture(c, o["url"]).astype(int) for o in outs)
        assert np.abs(a - b).max() <= 1, "onnxruntime and PyTorch give the same picture"
    board.close()


def test_sampling_run_draws_the_count_asked(client):
    job = finish(client, post(client, "acgan", n=4, seed=2, **{"class": "y"}))
    assert job["state"] == "done" and len(job["results"][0]["outputs"]) == 4


def truncated_jpeg() -> bytes:
    return photo_bytes((64, 64), "JPEG")[:300]


def big_png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (8000, 6400)).save(buf, "PNG")  # 51 MP of zeros: a small file
    return buf.getvalue()


@pytest.mark.parametrize("run, name, content, words", [
    ("pix2pix", "notes.png", b"this is not an image", "cannot read image notes.png"),
    ("pix2pix", "cut.jpg", None, "cannot read image cut.jpg"),
    ("pix2pix", "huge.png", "big", "51.2 MP"),
    ("pix2pixhd", "photo.png", "photo", "photo.png is a colour image: this run takes label maps"),
])
def test_bad_uploads_get_a_message_and_the_server_keeps_serving(client, run, name, content, words):
    content = {None: truncated_jpeg, "big": big_png, "photo": photo_bytes}.get(content, lambda: content)()
    job = finish(client, post(client, run, [(name, content, "application/octet-stream"),
                                            ("good.png", photo_bytes(), "image/png")] if run == "pix2pix"
                               else [(name, content, "application/octet-stream")]))
    bad = job["results"][0]
    assert words in bad["error"] and "\n" not in bad["error"] and "/tmp" not in bad["error"]
    if run == "pix2pix":
        assert job["state"] == "done" and job["results"][1]["outputs"], "one bad file fails only itself"
    assert client.get("/api/runs").status_code == 200


def test_requests_the_page_refuses_say_why_in_one_line(client):
    big = post(client, "pix2pix", [("a.png", b"0" * (6 * 2 ** 20), "image/png")])
    assert big.status_code == 413 and "5 MB" in big.json()["error"]
    assert "unknown run 'nope'" in post(client, "nope", [("a.png", photo_bytes(), "image/png")]).json()["error"]
    assert "no images" in post(client, "pix2pix").json()["error"]
    assert "takes no images" in post(client, "acgan", [("a.png", photo_bytes(), "image/png")]).json()["error"]
    assert "styles must be between 1 and 16" in post(client, "munit", [("a.png", photo_bytes(), "image/png")],
                                                     styles=99).json()["error"]
    assert client.get("/files/00001/../../../etc/passwd").status_code == 404
    assert client.get("/api/runs").status_code == 200


# ------------------------------------------------------------------------ a real browser
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def live_server(runs):
    """The app on a free port, served by uvicorn in a thread, as python -m i2i serve runs it."""
    import socket
    import threading

    import uvicorn
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    board = JobBoard(workers=1)
    app = build_app(Runs([str(runs["pix2pix"]), str(runs["esrgan"])], "cpu"), board)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(5)
    board.close()


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM.exists() and DRIVER.exists()):
        pytest.skip("no Chromium: apt-get install chromium chromium-driver (make browser-deps)")
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,1000"):
        options.add_argument(flag)
    from selenium.webdriver.chrome.service import Service
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.mark.browser
def test_browser_uploads_a_photo_and_shows_the_translation(live_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
    import urllib.request
    photo = tmp_path / "astronaut.png"
    photo.write_bytes(photo_bytes((128, 96)))
    wait = WebDriverWait(browser, 60)
    browser.get(live_server)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "run")).options) == 2)
    Select(browser.find_element(By.ID, "run")).select_by_value("pix2pix")
    browser.find_element(By.ID, "files").send_keys(str(photo))
    browser.find_element(By.ID, "go").click()
    link = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "a.download")))
    with urllib.request.urlopen(link.get_attribute("href")) as r:
        out = np.asarray(Image.open(io.BytesIO(r.read())))
    original = np.asarray(Image.open(photo))
    assert out.shape == original.shape and np.abs(out.astype(int) - original).mean() > 5
    assert browser.find_element(By.CSS_SELECTOR, "img.output").get_attribute("naturalWidth") == "128"

    bad = tmp_path / "broken.jpg"
    bad.write_bytes(truncated_jpeg())
    browser.find_element(By.ID, "files").send_keys(str(bad))
    browser.find_element(By.ID, "go").click()
    error = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".result .error")))
    assert "cannot read image broken.jpg" in error.text
    browser.refresh()  # the server keeps answering
    wait.until(lambda d: len(Select(d.find_element(By.ID, "run")).options) == 2)


def test_serve_command_mistakes_are_one_line(runs, tmp_path, capsys):
    import socket
    assert i2i_main(["serve", str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert i2i_main(["serve", str(runs["pix2pix"]), "--port", str(s.getsockname()[1])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "choose another --port" in err[-1]


def test_label_map_gallery_shows_the_map_in_colour(runs, tmp_path):
    rng = np.random.default_rng(0)
    maps = tmp_path / "labels"
    ids = np.repeat(np.repeat(rng.integers(0, 4, (4, 6)), 8, 0), 8, 1).astype(np.uint8)
    save_png(maps / "m.png", ids)
    (tmp_path / "instances").mkdir()
    save_png(tmp_path / "instances" / "m.png", ids)
    out = tmp_path / "out"
    assert translate_main([str(runs["pix2pixhd"]), str(maps), "--out", str(out), "--html"]) == 0
    shown = read_image(out / "gallery/inputs/m.png").rgb
    assert shown.shape == (32, 48, 3)
    colours = {tuple(c) for c in np.round(shown.reshape(-1, 3) * 255).astype(int)}
    assert len(colours) == len(np.unique(ids)), "one colour per class"
