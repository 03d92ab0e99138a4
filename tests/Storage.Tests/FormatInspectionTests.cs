using Glance.Grains.Storage;
using Glance.Grains.Storage.FormatInspection;

namespace Glance.Storage.Tests;

/// <summary>
/// The format inspectors against images qemu-img made: the virtual size each reads from the
/// header, fed in small and odd-sized pieces (a header split anywhere), must be the one qemu-img
/// reads back; data without the header, or with a cut one, has none.
/// </summary>
public sealed class FormatInspectionTests : IDisposable
{
    // Odd sizes, with single bytes, so that every header is split at some awkward place.
    private static readonly int[] s_pieces = [1, 3, 509, 4093, 65521, 7, 131071, 1];

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("qcow2", "qcow2", "1G", null)]
    [InlineData("qcow2", "qcow2", "5000000000", null)]
    [InlineData("vmdk", "vmdk", "1G", null)]
    [InlineData("vmdk", "vmdk", "300M", "subformat=streamOptimized")]
    [InlineData("vpc", "vhd", "1G", null)]
    [InlineData("vpc", "vhd", "3M", "subformat=fixed")] // the footer only at the end
    [InlineData("vhdx", "vhdx", "1G", null)]
    [InlineData("vhdx", "vhdx", "70000000000", null)]
    [InlineData("vdi", "vdi", "1G", null)]
    [InlineData("vdi", "vdi", "2M", "static=on")]
    public void The_virtual_size_is_the_one_qemu_img_reads(string qemuFormat, string diskFormat, string size, string? options)
    {
        var path = DiskImages.Create(_directory.Path, qemuFormat, size, options);
        var expected = DiskImages.VirtualSize(path, qemuFormat);

        Assert.Equal((diskFormat, expected), Sniff(File.ReadAllBytes(path)));
    }

    [Fact]
    public void An_iso_states_its_size_in_the_primary_volume_descriptor()
    {
        Assert.Equal(("iso", 40L * 2048), Sniff(DiskImages.Iso(40)));
    }

    [Fact]
    public void Bytes_without_a_header_or_with_a_cut_one_have_no_virtual_size()
    {
        Assert.Equal((null, null), Sniff(GeneratedStream.Bytes(3 << 20, seed: 5)));
        Assert.Equal((null, null), Sniff([]));
        var qcow2 = File.ReadAllBytes(DiskImages.Create(_directory.Path, "qcow2", "1G"));
        Assert.Equal((null, null), Sniff(qcow2[..20])); // the size field is cut
        var vhdx = File.ReadAllBytes(DiskImages.Create(_directory.Path, "vhdx", "1G"));
        Assert.Equal((null, null), Sniff(vhdx[..(200 << 10)])); // the region table is cut
        Assert.Equal((null, null), Sniff(vhdx[..(3 << 20)])); // the metadata region is missing
        var iso = DiskImages.Iso(40);
        Assert.Equal((null, null), Sniff(iso[..(32768 + 100)]));
        // A qcow2 magic with a zero size is not a readable header.
        var zero = qcow2[..512];
        Array.Clear(zero, 24, 8);
        Assert.Equal((null, null), Sniff(zero));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_hashing_stream_measures_the_virtual_size_as_it_copies(bool hashInParallel)
    {
        var path = DiskImages.Create(_directory.Path, "vhdx", "2G");
        var bytes = File.ReadAllBytes(path);
        using var upload = new HashingReadStream(new PieceStream(bytes), long.MaxValue, hashInParallel: hashInParallel);
        using var stored = new MemoryStream();

        await upload.CopyToAsync(stored);
        var measured = await upload.ResultAsync();

        Assert.Equal(bytes, stored.ToArray());
        Assert.Equal(bytes.Length, measured.Size);
        Assert.Equal("vhdx", measured.Format);
        Assert.Equal(DiskImages.VirtualSize(path, "vhdx"), measured.VirtualSize);
    }

    [Fact]
    public async Task A_fixed_vhd_is_read_from_its_footer_through_the_hashing_stream()
    {
        // More than one block, so the footer is in a later block than the start.
        var path = DiskImages.Create(_directory.Path, "vpc", "5M", "subformat=fixed");
        using var upload = new HashingReadStream(new PieceStream(File.ReadAllBytes(path)), long.MaxValue);

        await upload.CopyToAsync(Stream.Null);
        var measured = await upload.ResultAsync();

        Assert.Equal(("vhd", DiskImages.VirtualSize(path, "vpc")), (measured.Format, measured.VirtualSize));
    }

    private static (string?, long?) Sniff(byte[] image)
    {
        var sniffer = new FormatSniffer();
        var at = 0;
        for (var i = 0; at < image.Length; i++)
        {
            var length = Math.Min(s_pieces[i % s_pieces.Length], image.Length - at);
            sniffer.Feed(image.AsSpan(at, length));
            at += length;
        }
        var (format, virtualSize, _) = sniffer.Result();
        return (format, virtualSize);
    }

    /// <summary>An upload body that hands its bytes out in odd-sized pieces, as a network does.</summary>
    private sealed class PieceStream(byte[] bytes) : ReadOnlyStream
    {
        private int _position;
        private int _read;

        public override long Position { get => _position; }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var length = Math.Min(Math.Min(buffer.Length, s_pieces[_read++ % s_pieces.Length]), bytes.Length - _position);
            bytes.AsSpan(_position, length).CopyTo(buffer);
            _position += length;
            return length;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));
    }
}
