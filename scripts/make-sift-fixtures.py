#!/usr/bin/python3
"""Reference SIFT keypoints and descriptors from OpenCV, for test/sift.test.ts.

Only needed to (re)make the fixtures, never in CI. On Debian/Ubuntu:
    apt-get install -y python3-opencv
    /usr/bin/python3 scripts/make-sift-fixtures.py

For each chosen Imagenette photo it writes, under test/fixtures/sift/:
    <name>.png        the greyscale input both implementations read (so decoding, resizing and
                      colour conversion cannot cause differences)
    <name>.json       OpenCV version, image size, keypoints [x, y, size, angle, response, octave]
    <name>.desc.bin   float descriptors as uint8 (OpenCV's SIFT values are whole numbers 0..255),
                      keypoints x 128, row-major, in the keypoint order of the JSON
OpenCV's defaults are used (nOctaveLayers 3, contrast 0.04, edge 10, sigma 1.6, doubled input).
"""
import json
import os
import sys

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, '..', 'shared', 'data', 'imagenette-224', 'train')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'sift')

# (output name, class folder, file, side): a few classes with different textures; 160 px is the
# reference's working size, 64 px the quickstart's.
IMAGES = [
    ('tench-160', 'n01440764', 0, 160),
    ('church-160', 'n03028079', 0, 160),
    ('parachute-160', 'n03888257', 0, 160),
    ('springer-64', 'n02102040', 0, 64),
]


def octave_of(kp):
    # OpenCV packs octave (signed byte), layer and sub-layer into one int.
    octave = kp.octave & 255
    return octave - 256 if octave >= 128 else octave


def main():
    os.makedirs(OUT, exist_ok=True)
    sift = cv2.SIFT_create()
    for name, wnid, index, side in IMAGES:
        folder = os.path.join(DATA, wnid)
        files = sorted(f for f in os.listdir(folder) if f.lower().endswith(('.jpeg', '.jpg', '.png')))
        bgr = cv2.imread(os.path.join(folder, files[index]), cv2.IMREAD_COLOR)
        if bgr is None:
            sys.exit(f'cannot read {files[index]} in {folder}')
        bgr = cv2.resize(bgr, (side, side), interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        cv2.imwrite(os.path.join(OUT, f'{name}.png'), gray)
        keypoints, descriptors = sift.detectAndCompute(gray, None)
        if descriptors is None:
            descriptors = np.zeros((0, 128), np.float32)
        assert np.all(descriptors == np.round(descriptors)) and descriptors.max(initial=0) <= 255
        descriptors.astype(np.uint8).tofile(os.path.join(OUT, f'{name}.desc.bin'))
        meta = {
            'opencv': cv2.__version__,
            'source': f'imagenette-224/train/{wnid}/{files[index]}',
            'width': gray.shape[1],
            'height': gray.shape[0],
            'keypoints': [
                [round(k.pt[0], 4), round(k.pt[1], 4), round(k.size, 4), round(k.angle, 4),
                 round(k.response, 6), octave_of(k)]
                for k in keypoints
            ],
        }
        with open(os.path.join(OUT, f'{name}.json'), 'w') as f:
            json.dump(meta, f, separators=(',', ':'))
        print(f'{name}: {len(keypoints)} keypoints')


if __name__ == '__main__':
    main()
