using System.Text.Json;
using Glance.Api.Tests.Support;
using static Glance.Api.Tests.Support.ImageBytes;

namespace Glance.Api.Tests;

/// <summary>
/// virtual_size through real HTTP: read from the header of images qemu-img made, as Glance's
/// format inspector does (Nova compares it with the flavor's disk), after PUT /file and after
/// stage + glance-direct (data without its disk_format's header: ExtensionsTests, refused by
/// format inspection, stored with no virtual_size when it is off).
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class VirtualSizeTests(ApiFixture fixture) : IDisposable
{
    private readonly GlanceClient _api = fixture.Client;
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("qcow2", "qcow2", "1G")]
    [InlineData("vpc", "vhd", "300M")]
    public async Task Upload_and_glance_direct_set_the_virtual_size_from_the_header(string qemuFormat, string diskFormat, string size)
    {
        var path = DiskImages.Create(_directory.Path, qemuFormat, size);
        var data = File.ReadAllBytes(path);
        var expected = DiskImages.VirtualSize(path, qemuFormat);
        var format = new Dictionary<string, object?> { ["disk_format"] = diskFormat };

        var uploaded = await _api.CreateUploadableAsync(Persona.P1, format);
        await _api.UploadOkAsync(uploaded, Persona.P1, data);
        var image = await _api.ShowImageAsync(uploaded, Persona.P1);
        Assert.Equal(data.Length, image.GetProperty("size").GetInt64());
        Assert.Equal(expected, image.GetProperty("virtual_size").GetInt64());

        var imported = await _api.CreateUploadableAsync(Persona.P1, format);
        Expect.Status(await _api.StageAsync(imported, Persona.P1, Octets(data)), 204);
        Expect.Status(await _api.ImportAsync(imported, Persona.P1, """{"method": {"name": "glance-direct"}}"""), 202);
        await _api.WaitForStatusAsync(imported, Persona.P1, "active");
        image = await _api.ShowImageAsync(imported, Persona.P1);
        Assert.Equal(data.Length, image.GetProperty("size").GetInt64());
        Assert.Equal(expected, image.GetProperty("virtual_size").GetInt64());
        Assert.Equal(Md5(data), Expect.Str(image, "checksum"));
    }
}
