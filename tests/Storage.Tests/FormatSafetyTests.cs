using Glance.Grains.Extensions.FormatInspection;
using Glance.Grains.Storage.FormatInspection;
using Glance.Tests.Shared;

namespace Glance.Storage.Tests;

/// <summary>
/// The inspectors' safety findings on real images made by qemu-img, including the malicious
/// kinds (a qcow2 backing file or external data file; a vmdk whose descriptor names a host
/// file), and the format rule that the format-inspection extension applies to them.
/// </summary>
public sealed class FormatSafetyTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("qcow2", null)]
    [InlineData("qcow2", "compat=0.10")]
    [InlineData("vmdk", null)]
    [InlineData("vmdk", "subformat=streamOptimized")]
    public void Images_qemu_img_makes_plainly_are_safe(string format, string? options)
    {
        var (found, _, problem) = Sniff(File.ReadAllBytes(DiskImages.Create(_directory.Path, format, "64M", options)));
        Assert.Equal(format, found);
        Assert.Null(problem);
        Assert.Null(FormatRule.Problem(format, found, problem));
    }

    [Fact]
    public void A_qcow2_with_a_backing_file_is_unsafe()
    {
        var (found, size, problem) = Sniff(File.ReadAllBytes(DiskImages.Qcow2WithBackingFile(_directory.Path)));
        Assert.Equal("qcow2", found);
        Assert.Equal(1 << 20, size);
        Assert.Contains("backing file", problem);
        Assert.Contains("backing file", FormatRule.Problem("qcow2", found, problem));
    }

    [Fact]
    public void A_qcow2_with_an_external_data_file_is_unsafe()
    {
        var (found, _, problem) = Sniff(File.ReadAllBytes(DiskImages.Qcow2WithDataFile(_directory.Path)));
        Assert.Equal("qcow2", found);
        Assert.Contains("external data file", problem);
    }

    [Fact]
    public void A_vmdk_whose_descriptor_names_a_host_file_is_unsafe()
    {
        var (found, _, problem) = Sniff(DiskImages.VmdkNamingFile(_directory.Path, "/etc/passwd"));
        Assert.Equal("vmdk", found);
        Assert.Contains("/etc/passwd", problem);
        Assert.Contains("another file", FormatRule.Problem("vmdk", found, problem));
        // Declared raw, it is refused too: the content is not raw.
        Assert.NotNull(FormatRule.Problem("raw", found, problem));
    }

    [Fact]
    public void A_bare_vmdk_descriptor_is_not_a_vmdk()
    {
        var (found, _, _) = Sniff(DiskImages.VmdkDescriptorOnly(_directory.Path));
        Assert.Null(found);
        Assert.Contains("does not match disk_format vmdk", FormatRule.Problem("vmdk", found, null));
    }

    [Fact]
    public void Content_must_match_the_declared_disk_format()
    {
        var qcow2 = Sniff(File.ReadAllBytes(DiskImages.Create(_directory.Path, "qcow2", "1M")));
        Assert.Contains("the data is qcow2", FormatRule.Problem("raw", qcow2.Format, qcow2.Unsafe));
        Assert.Contains("the data is qcow2", FormatRule.Problem("vmdk", qcow2.Format, qcow2.Unsafe));
        var noise = Sniff(new byte[100_000]);
        Assert.Null(FormatRule.Problem("raw", noise.Format, noise.Unsafe));
        Assert.Contains("no qcow2 header", FormatRule.Problem("qcow2", noise.Format, noise.Unsafe));
        // An ISO is raw byte for byte; formats the inspector does not read pass.
        var iso = Sniff(DiskImages.Iso(64));
        Assert.Null(FormatRule.Problem("raw", iso.Format, iso.Unsafe));
        Assert.Null(FormatRule.Problem("iso", iso.Format, iso.Unsafe));
        Assert.Null(FormatRule.Problem("ami", qcow2.Format, qcow2.Unsafe));
        Assert.Null(FormatRule.Problem(null, qcow2.Format, qcow2.Unsafe));
    }

    private static (string? Format, long? VirtualSize, string? Unsafe) Sniff(byte[] image)
    {
        var sniffer = new FormatSniffer();
        // Small pieces, so that the descriptor and headers arrive split.
        for (var at = 0; at < image.Length; at += 4093)
        {
            sniffer.Feed(image.AsSpan(at, Math.Min(4093, image.Length - at)));
        }
        return sniffer.Result();
    }
}
