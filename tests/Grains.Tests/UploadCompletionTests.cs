using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Storage;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// The streaming tier's verbs after the bytes are written (<see cref="IImageGrain.CompleteUploadAsync"/>,
/// <see cref="IImageGrain.AbortUploadAsync"/>), as a retrying node or a direct caller sends them:
/// a completion sent again (its answer was lost) gets the same image and keeps its bytes; an abort
/// after the completion leaves the image's bytes alone; a completion past the ticket's limit is
/// refused by the grain itself, whoever measured it.
/// </summary>
public sealed class UploadCompletionTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private FileImageDataStore Store => new(Path.Combine(_directory.Path, "images"));

    private static UploadedData Measured(byte[] bytes) => new(bytes.Length,
        Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(bytes)),
        Convert.ToHexStringLower(System.Security.Cryptography.SHA512.HashData(bytes)));

    [Theory]
    [InlineData(UploadTarget.File)]
    [InlineData(UploadTarget.Stage)]
    public async Task A_completion_sent_again_or_an_abort_after_it_keeps_the_bytes(UploadTarget target)
    {
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path);
        var owner = Caller.Member(NewProject());
        var id = (await cluster.CreateAsync(owner, ImageDraft.Empty.With("disk_format", "raw").With("container_format", "bare"))).Id;
        var image = cluster.Image(id);
        var ticket = await image.BeginUploadAsync(owner, target, null);
        byte[] bytes = [1, 2, 3, 4, 5];
        await Store.WriteAsync(ticket.DataKey, new MemoryStream(bytes), CancellationToken.None);

        var first = await image.CompleteUploadAsync(ticket.UploadId, Measured(bytes));
        var again = await image.CompleteUploadAsync(ticket.UploadId, Measured(bytes));
        await image.AbortUploadAsync(ticket.UploadId);

        Assert.Equal(target == UploadTarget.File ? ImageStatus.Active : ImageStatus.Uploading, first.Status);
        Assert.Equal(first.Status, again.Status);
        Assert.Equal(first.Size, again.Size);
        Assert.Equal(first.Status, (await image.GetAsync(owner)).Status);
        Assert.True(await Store.ExistsAsync(ticket.DataKey, CancellationToken.None), "the image's bytes were deleted");
        if (target == UploadTarget.File)
        {
            await using var data = await Store.OpenReadAsync(ticket.DataKey, 0, null, CancellationToken.None);
            using var read = new MemoryStream();
            await data.CopyToAsync(read);
            Assert.Equal(bytes, read.ToArray());
        }
    }

    [Fact]
    public async Task A_completion_past_the_tickets_limit_is_refused_and_undone()
    {
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path,
            settings: new Dictionary<string, string?> { ["Glance:ImageData:ImageSizeCap"] = "4" });
        var owner = Caller.Member(NewProject());
        var id = (await cluster.CreateAsync(owner, ImageDraft.Empty.With("disk_format", "raw").With("container_format", "bare"))).Id;
        var image = cluster.Image(id);
        var ticket = await image.BeginUploadAsync(owner, UploadTarget.File, null);
        Assert.Equal(4, ticket.MaxBytes);
        byte[] bytes = [1, 2, 3, 4, 5];
        await Store.WriteAsync(ticket.DataKey, new MemoryStream(bytes), CancellationToken.None);

        // A caller that wrote past the limit and reports it (or under-reports nothing): refused.
        var refused = await ThrowsGlance(ErrorKind.TooLarge, () => image.CompleteUploadAsync(ticket.UploadId, Measured(bytes)));
        Assert.Contains("4 bytes", refused.Message);
        Assert.Equal(ImageStatus.Queued, (await image.GetAsync(owner)).Status);
        Assert.False(await Store.ExistsAsync(ticket.DataKey, CancellationToken.None), "the refused bytes were kept");

        // A retry within the limit works.
        var retry = await image.BeginUploadAsync(owner, UploadTarget.File, null);
        await Store.WriteAsync(retry.DataKey, new MemoryStream(bytes[..4]), CancellationToken.None);
        Assert.Equal(ImageStatus.Active, (await image.CompleteUploadAsync(retry.UploadId, Measured(bytes[..4]))).Status);
    }
}
