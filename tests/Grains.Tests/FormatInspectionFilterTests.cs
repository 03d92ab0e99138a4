using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Storage;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// The format-inspection extension for a direct grain caller (another Orleans service): the same
/// refusal an HTTP caller gets, from the incoming grain call filter, with the image back in queued
/// and the bytes gone; with the extension off, the grain takes the data as before. The findings are
/// what the caller's hashing stream measured (<see cref="UploadedData"/>).
/// </summary>
public sealed class FormatInspectionFilterTests : IDisposable
{
    private static readonly byte[] Payload = [.. Enumerable.Range(0, 4096).Select(i => (byte)i)];
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string ImagesDirectory => Path.Combine(_directory.Path, "images");

    private static UploadedData BackedQcow2 => new(Payload.Length, "m", "s", 1 << 20, "qcow2", "the qcow2 image has a backing file");

    private async Task<(IImageGrain Grain, UploadTicket Ticket)> UploadAsync(GlanceTestCluster cluster, Caller owner, string diskFormat)
    {
        var id = (await cluster.CreateAsync(owner, ImageDraft.Empty.With("disk_format", diskFormat).With("container_format", "bare"))).Id;
        var grain = cluster.Image(id);
        var ticket = await grain.BeginUploadAsync(owner, UploadTarget.File, null);
        using var source = new MemoryStream(Payload);
        await new FileImageDataStore(ImagesDirectory).WriteAsync(ticket.DataKey, source, CancellationToken.None);
        return (grain, ticket);
    }

    [Fact]
    public async Task A_direct_caller_gets_the_refusal_an_http_caller_gets()
    {
        var owner = Caller.Member(NewProject());
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path);
        var (grain, ticket) = await UploadAsync(cluster, owner, "qcow2");

        var refused = await ThrowsGlance(ErrorKind.BadRequest, () => grain.CompleteUploadAsync(ticket.UploadId, BackedQcow2));
        Assert.Contains("backing file", refused.Message);
        var image = await grain.GetAsync(owner);
        Assert.Equal(ImageStatus.Queued, image.Status);
        Assert.Null(image.Size);
        Assert.Empty(Directory.GetFiles(ImagesDirectory, $"{image.Id:N}*"));

        // Declared raw, qcow2 content is not raw; a clean qcow2 completes.
        var (raw, rawTicket) = await UploadAsync(cluster, owner, "raw");
        await ThrowsGlance(ErrorKind.BadRequest, () => raw.CompleteUploadAsync(rawTicket.UploadId, BackedQcow2 with { Unsafe = null }));
        var (clean, cleanTicket) = await UploadAsync(cluster, owner, "qcow2");
        var active = await clean.CompleteUploadAsync(cleanTicket.UploadId, BackedQcow2 with { Unsafe = null });
        Assert.Equal(ImageStatus.Active, active.Status);
        Assert.Equal(1 << 20, active.VirtualSize);
    }

    [Fact]
    public async Task With_the_extension_off_the_grain_takes_the_data()
    {
        var owner = Caller.Member(NewProject());
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path,
            settings: new Dictionary<string, string?> { ["Glance:Extensions:format-inspection:Enabled"] = "false" });
        var (grain, ticket) = await UploadAsync(cluster, owner, "qcow2");
        Assert.Equal(ImageStatus.Active, (await grain.CompleteUploadAsync(ticket.UploadId, BackedQcow2)).Status);
    }
}
