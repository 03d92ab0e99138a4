using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Storage;
using Microsoft.Data.Sqlite;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// Image data never outlives the image state that points at it: an upload a crash
/// interrupted is undone at start-up (<see cref="DataRecovery"/>), a deleted image loses its
/// bytes even when a crash came between the tombstone and the byte deletion, and an upload
/// that finishes after its image was deleted leaves nothing behind. Each test stops its own
/// cluster and starts a new one on the same data directory (the "crash").
/// </summary>
public sealed class DataRecoveryTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string ImagesDirectory => Path.Combine(_directory.Path, "images");

    private static readonly byte[] Payload = [.. Enumerable.Range(0, 300_000).Select(i => (byte)(i * 31))];

    /// <summary>The store the silos use, opened on the same directory (it only holds files).</summary>
    private FileImageDataStore Store() => new(ImagesDirectory);

    /// <summary>Every file of an image (blobs and partial files are named after its id).</summary>
    private string[] FilesOf(Guid id) =>
        Directory.Exists(ImagesDirectory) ? Directory.GetFiles(ImagesDirectory, $"{id:N}*") : [];

    private static async Task<ImageRecord> CreateUploadableAsync(GlanceTestCluster cluster, Caller owner) =>
        await cluster.CreateAsync(owner, ImageDraft.Empty.With("disk_format", "raw").With("container_format", "bare"));

    private static async Task WriteBlobAsync(FileImageDataStore store, string key)
    {
        using var source = new MemoryStream(Payload);
        Assert.Equal(Payload.Length, await store.WriteAsync(key, source, CancellationToken.None));
    }

    private static async Task<ImageRecord> EventuallyAsync(Func<Task<ImageRecord>> read, Func<ImageRecord, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var image = await read();
            if (done(image) || DateTime.UtcNow > deadline)
            {
                return image;
            }
            await Task.Delay(100);
        }
    }

    private static async Task UntilAsync(Func<bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!done() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
    }

    [Theory]
    [InlineData(UploadTarget.File, ImageStatus.Saving)]
    [InlineData(UploadTarget.Stage, ImageStatus.Uploading)]
    public async Task An_upload_interrupted_by_a_crash_is_undone_at_start_up_and_a_retry_works(UploadTarget target, ImageStatus during)
    {
        var owner = Caller.Member(NewProject());
        Guid id;
        UploadTicket ticket;
        await using (var first = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            id = (await CreateUploadableAsync(first, owner)).Id;
            ticket = await first.Image(id).BeginUploadAsync(owner, target, Payload.Length);
            Assert.Equal($"{id:N}-{ticket.UploadId:N}", ticket.DataKey);
            Assert.Equal(during, (await first.Image(id).GetAsync(owner)).Status);
            // All bytes written, CompleteUploadAsync never called: the process died in between.
            await WriteBlobAsync(Store(), ticket.DataKey);
            // And a second writer died mid-copy, leaving its partial file.
            await File.WriteAllBytesAsync(Path.Combine(ImagesDirectory, $"{ticket.DataKey}.{Guid.NewGuid():N}.partial"), [1, 2, 3]);
            Assert.Equal(2, FilesOf(id).Length);
        }

        await using (var second = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            var image = await EventuallyAsync(() => second.Image(id).GetAsync(owner), i => i.Status == ImageStatus.Queued);
            Assert.Equal(ImageStatus.Queued, image.Status);
            Assert.Null(image.Size);
            Assert.Null(image.VirtualSize);
            Assert.Null(image.Checksum);
            Assert.Empty(FilesOf(id));
            Assert.False(await Store().ExistsAsync(ticket.DataKey, CancellationToken.None));
            Assert.Null(await second.Image(id).OpenDataAsync(owner));

            // The old ticket is dead: an upload still writing under it when the process restarted
            // finishes into nothing (its late bytes are deleted); a new upload works.
            await WriteBlobAsync(Store(), ticket.DataKey);
            await ThrowsGlance(ErrorKind.Gone, () => second.Image(id).CompleteUploadAsync(ticket.UploadId, new UploadedData(1, "x", "y")));
            Assert.Empty(FilesOf(id));
            var retry = await second.Image(id).BeginUploadAsync(owner, target, null);
            await WriteBlobAsync(Store(), retry.DataKey);
            var done = await second.Image(id).CompleteUploadAsync(retry.UploadId, new UploadedData(Payload.Length, "md5", "sha512"));
            Assert.Equal(target == UploadTarget.File ? ImageStatus.Active : ImageStatus.Uploading, done.Status);
            Assert.Equal(Payload.Length, done.Size);
            Assert.Equal([retry.DataKey], FilesOf(id).Select(Path.GetFileName));

            // Recovery is idempotent and leaves a completed upload alone.
            await second.Client.GetGrain<IImageMaintenanceGrain>(id).RecoverDataAsync();
            Assert.Equal(done.Status, (await second.Image(id).GetAsync(owner)).Status);
            Assert.Single(FilesOf(id));
        }
    }

    [Fact]
    public async Task Bytes_written_after_the_image_was_deleted_are_removed_even_if_the_process_dies_before_the_upload_ends()
    {
        var owner = Caller.Member(NewProject());
        Guid id;
        string key;
        await using (var first = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            id = (await CreateUploadableAsync(first, owner)).Id;
            var ticket = await first.Image(id).BeginUploadAsync(owner, UploadTarget.File, null);
            key = ticket.DataKey;
            // Deleted while the bytes are still streaming in...
            await first.Image(id).DeleteAsync(owner);
            // ...and the stream finishes afterwards; the process dies before the upload completes.
            await WriteBlobAsync(Store(), key);
            Assert.Single(FilesOf(id));
            await ThrowsGlance(ErrorKind.NotFound, () => first.Image(id).GetAsync(owner));
        }

        await using (var second = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            await UntilAsync(() => FilesOf(id).Length == 0);
            Assert.Empty(FilesOf(id));
            await ThrowsGlance(ErrorKind.NotFound, () => second.Image(id).GetAsync(owner));
            await ThrowsGlance(ErrorKind.NotFound, () => second.Image(id).OpenDataAsync(Caller.Admin("admin")));
        }
    }

    [Fact]
    public async Task An_upload_completing_after_its_image_was_deleted_is_gone_and_leaves_no_bytes()
    {
        var owner = Caller.Member(NewProject());
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path);
        var id = (await CreateUploadableAsync(cluster, owner)).Id;
        var grain = cluster.Image(id);

        // Deleted mid-upload, then the upload completes: 410, and the bytes it wrote are removed.
        var ticket = await grain.BeginUploadAsync(owner, UploadTarget.File, null);
        await grain.DeleteAsync(owner);
        await WriteBlobAsync(Store(), ticket.DataKey);
        await ThrowsGlance(ErrorKind.Gone, () => grain.CompleteUploadAsync(ticket.UploadId, new UploadedData(Payload.Length, "m", "s")));
        Assert.Empty(FilesOf(id));
        await ThrowsGlance(ErrorKind.NotFound, () => grain.GetAsync(owner));

        // Aborting (the other way an upload ends) after a delete does not bring the image back.
        var other = (await CreateUploadableAsync(cluster, owner)).Id;
        var otherTicket = await cluster.Image(other).BeginUploadAsync(owner, UploadTarget.File, null);
        await cluster.Image(other).DeleteAsync(owner);
        await WriteBlobAsync(Store(), otherTicket.DataKey);
        await cluster.Image(other).AbortUploadAsync(otherTicket.UploadId);
        await ThrowsGlance(ErrorKind.NotFound, () => cluster.Image(other).GetAsync(owner));
        await cluster.Client.GetGrain<IImageMaintenanceGrain>(other).RecoverDataAsync();
        await ThrowsGlance(ErrorKind.NotFound, () => cluster.Image(other).GetAsync(owner));
        Assert.Empty(FilesOf(other));
    }

    [Fact]
    public async Task The_sweep_of_unheld_bytes_deletes_only_what_the_image_does_not_hold()
    {
        var owner = Caller.Member(NewProject());
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path);
        var id = (await CreateUploadableAsync(cluster, owner)).Id;
        var grain = cluster.Image(id);
        var sweep = cluster.Client.GetGrain<IImageMaintenanceGrain>(id);

        // An upload in flight holds its key (its completion may be on its way); so does the data it completed.
        var ticket = await grain.BeginUploadAsync(owner, UploadTarget.File, Payload.Length);
        await WriteBlobAsync(Store(), ticket.DataKey);
        Assert.False(await sweep.RemoveUnheldDataAsync(ticket.DataKey));
        Assert.Equal(ImageStatus.Active, (await grain.CompleteUploadAsync(ticket.UploadId, new UploadedData(Payload.Length, "m", "s"))).Status);
        Assert.False(await sweep.RemoveUnheldDataAsync(ticket.DataKey));
        Assert.True(await Store().ExistsAsync(ticket.DataKey, CancellationToken.None));

        // Bytes under a key of the image that nothing names (an upload whose lease ran out, committed later).
        var unheld = $"{id:N}-{Guid.NewGuid():N}";
        await WriteBlobAsync(Store(), unheld);
        Assert.True(await sweep.RemoveUnheldDataAsync(unheld));
        Assert.False(await Store().ExistsAsync(unheld, CancellationToken.None));
        Assert.False(await sweep.RemoveUnheldDataAsync(unheld));

        // A grain deletes only keys of its own image.
        var other = (await CreateUploadableAsync(cluster, owner)).Id;
        var foreign = $"{other:N}-{Guid.NewGuid():N}";
        await WriteBlobAsync(Store(), foreign);
        await Assert.ThrowsAsync<ArgumentException>(() => sweep.RemoveUnheldDataAsync(foreign));
        Assert.True(await Store().ExistsAsync(foreign, CancellationToken.None));
        Assert.Equal(ImageStatus.Active, (await grain.GetAsync(owner)).Status);
    }

    [Fact]
    public async Task An_upload_whose_size_is_not_the_declared_one_is_refused_and_leaves_no_bytes()
    {
        var owner = Caller.Member(NewProject());
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path);
        var id = (await CreateUploadableAsync(cluster, owner)).Id;
        var grain = cluster.Image(id);

        // The rule holds for any caller of the grain, not only the HTTP tier.
        var ticket = await grain.BeginUploadAsync(owner, UploadTarget.File, Payload.Length + 1);
        await WriteBlobAsync(Store(), ticket.DataKey);
        await ThrowsGlance(ErrorKind.BadRequest, () => grain.CompleteUploadAsync(ticket.UploadId, new UploadedData(Payload.Length, "m", "s")));
        var image = await grain.GetAsync(owner);
        Assert.Equal(ImageStatus.Queued, image.Status);
        Assert.Null(image.Size);
        Assert.Empty(FilesOf(id));

        // A retry with the right size works.
        var retry = await grain.BeginUploadAsync(owner, UploadTarget.File, Payload.Length);
        await WriteBlobAsync(Store(), retry.DataKey);
        Assert.Equal(ImageStatus.Active, (await grain.CompleteUploadAsync(retry.UploadId, new UploadedData(Payload.Length, "m", "s"))).Status);
    }

    [Fact]
    public async Task A_deleted_image_whose_bytes_a_crash_kept_loses_them_at_start_up()
    {
        var owner = Caller.Member(NewProject());
        Guid id;
        string key;
        await using (var first = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            id = (await CreateUploadableAsync(first, owner)).Id;
            var ticket = await first.Image(id).BeginUploadAsync(owner, UploadTarget.File, Payload.Length);
            key = ticket.DataKey;
            await WriteBlobAsync(Store(), key);
            var active = await first.Image(id).CompleteUploadAsync(ticket.UploadId, new UploadedData(Payload.Length, "m", "s"));
            Assert.Equal(ImageStatus.Active, active.Status);
            Assert.Equal(Payload.Length, active.VirtualSize);
            Assert.Equal(key, (await first.Image(id).OpenDataAsync(owner))!.DataKey);
        }

        // The crash: the tombstone was written, the bytes were not yet deleted.
        using (var connection = GlanceTestCluster.OpenDatabase(_directory.Path))
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                UPDATE grain_state SET payload = json_set(payload, '$.status', 'Deleted')
                WHERE state_name = 'image' AND grain_type = 'glance.image' AND grain_key = $k
                  AND json_extract(payload, '$.dataKey') = $key
                """;
            command.Parameters.AddWithValue("$k", SqliteCatalogStore.Key(id));
            command.Parameters.AddWithValue("$key", key);
            Assert.Equal(1, command.ExecuteNonQuery());
        }
        Assert.Single(FilesOf(id));

        await using (var second = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            await UntilAsync(() => FilesOf(id).Length == 0);
            Assert.Empty(FilesOf(id));
            await ThrowsGlance(ErrorKind.NotFound, () => second.Image(id).GetAsync(owner));
        }
    }
}
