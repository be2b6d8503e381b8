"""The visible seal as pyHanko draws it: the encoded picture as an image XObject filling the field.

Imported on first use by render/seal.py (pyHanko is heavy), like the rest of the sealing code.
"""

from __future__ import annotations

from PIL import Image
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.stamp import StaticStampStyle

from render.seal_appearance import EncodedImage


class EncodedPdfImage(PdfImage):
    """pyHanko's PdfImage over streams encoded beforehand: nothing is compressed per seal."""

    def __init__(self, image: EncodedImage) -> None:
        # PdfImage wants a Pillow image; only its size would be read, and the box gives that.
        box = layout.BoxConstraints(image.width, image.height)
        super().__init__(Image.new("1", (1, 1)), box=box)
        self.encoded = image

    @property
    def image_ref(self) -> generic.IndirectObject:
        assert self.writer is not None
        image, name = self.encoded, generic.pdf_name
        common = {
            name("/Type"): name("/XObject"),
            name("/Subtype"): name("/Image"),
            name("/Width"): generic.NumberObject(image.width),
            name("/Height"): generic.NumberObject(image.height),
            name("/BitsPerComponent"): generic.NumberObject(8),
            name("/Filter"): name("/FlateDecode"),
        }
        alpha = generic.StreamObject(
            {**common, name("/ColorSpace"): name("/DeviceGray")}, encoded_data=image.alpha
        )
        rgb = generic.StreamObject(
            {**common, name("/ColorSpace"): name("/DeviceRGB"),
             name("/SMask"): self.writer.add_object(alpha)},
            encoded_data=image.rgb,
        )  # fmt: skip
        return self.writer.add_object(rgb)


def stamp_style(image: EncodedImage) -> StaticStampStyle:
    """The field's appearance: the picture alone, scaled to the field's box, no border."""
    return StaticStampStyle(
        background=EncodedPdfImage(image),
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
        ),
    )
