using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Storage;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// An upload holds a lease that the node streaming it renews. When the node dies (no renewals),
/// the image grain undoes the upload once the lease is over: its bytes are deleted and the image
/// is queued again, so no image stays in saving forever (a Glance complaint: images stuck in
/// saving after an API worker died). Renewed uploads are left alone.
/// </summary>
public sealed class UploadLeaseTests : IDisposable
{
    private const int LeaseSeconds = 3;
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private Task<GlanceTestCluster> StartAsync(int leaseSeconds = LeaseSeconds) => GlanceTestCluster.StartAsync(_directory.Path,
        settings: new Dictionary<string, string?> { ["Glance:ImageData:UploadLeaseSeconds"] = $"{leaseSeconds}" });

    [Theory]
    [InlineData(UploadTarget.File)]
    [InlineData(UploadTarget.Stage)]
    public async Task An_upload_whose_node_stops_renewing_is_undone_after_its_lease_and_a_retry_works(UploadTarget target)
    {
        await using var cluster = await StartAsync();
        var owner = Caller.Member(NewProject());
        var id = (await cluster.CreateAsync(owner, ImageDraft.Empty.With("disk_format", "raw").With("container_format", "bare"))).Id;
        var ticket = await cluster.Image(id).BeginUploadAsync(owner, target, null);
        Assert.Equal(TimeSpan.FromSeconds(LeaseSeconds) / 3, ticket.RenewEvery);
        var store = new FileImageDataStore(Path.Combine(_directory.Path, "images"));
        await store.WriteAsync(ticket.DataKey, new MemoryStream([1, 2, 3]), CancellationToken.None);

        // No renewal: within two lease periods the image is queued and the bytes are gone.
        var deadline = DateTime.UtcNow.AddSeconds(2 * LeaseSeconds + 2);
        while ((await cluster.Image(id).GetAsync(owner)).Status != ImageStatus.Queued && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        Assert.Equal(ImageStatus.Queued, (await cluster.Image(id).GetAsync(owner)).Status);
        Assert.False(await store.ExistsAsync(ticket.DataKey, CancellationToken.None));
        Assert.False(await cluster.Image(id).RenewUploadAsync(ticket.UploadId));

        var retry = await cluster.Image(id).BeginUploadAsync(owner, target, null);
        Assert.True(await cluster.Image(id).RenewUploadAsync(retry.UploadId));
    }

    [Fact]
    public async Task When_storage_took_an_undo_whose_answer_was_lost_the_catalog_still_gets_the_stored_state()
    {
        await using var cluster = await StartAsync();
        var owner = Caller.Member(NewProject());
        var id = (await cluster.CreateAsync(owner, ImageDraft.Empty.With("disk_format", "raw").With("container_format", "bare"))).Id;
        await cluster.Image(id).BeginUploadAsync(owner, UploadTarget.File, null);
        // What an undo whose write reached storage but whose answer never came back leaves (a storage
        // service stopping mid-request): queued in storage, under an ETag the grain does not know,
        // while the grain and its catalog entry still say saving.
        using (var connection = GlanceTestCluster.OpenDatabase(_directory.Path))
        {
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT payload FROM grain_state WHERE grain_type = 'glance.image' AND grain_key = $k";
            read.Parameters.AddWithValue("$k", id.ToString("N"));
            var stored = System.Text.Json.Nodes.JsonNode.Parse((string)read.ExecuteScalar()!)!.AsObject();
            Assert.Equal("Saving", stored["status"]!.GetValue<string>());
            stored["status"] = "Queued";
            stored.Remove("upload");
            stored["version"] = stored["version"]!.GetValue<long>() + 1;
            using var write = connection.CreateCommand();
            write.CommandText = "UPDATE grain_state SET etag = 'written-but-unanswered', payload = $p WHERE grain_type = 'glance.image' AND grain_key = $k";
            write.Parameters.AddWithValue("$k", id.ToString("N"));
            write.Parameters.AddWithValue("$p", stored.ToJsonString());
            Assert.Equal(1, write.ExecuteNonQuery());
        }

        // The lease check's undo is refused for the ETag; the grain reads the stored state and sends
        // it to the catalog (which is what lists read: nothing here activates the image grain again).
        var deadline = DateTime.UtcNow.AddSeconds(3 * LeaseSeconds + 2);
        while (await CatalogStatusAsync() != ImageStatus.Queued && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        Assert.Equal(ImageStatus.Queued, await CatalogStatusAsync());
        Assert.Equal(ImageStatus.Queued, (await cluster.Image(id).GetAsync(owner)).Status);

        async Task<ImageStatus> CatalogStatusAsync() =>
            Assert.Single(await cluster.Catalog.ListAsync(owner, new Glance.Grains.Catalog.ImageQuery()), i => i.Id == id).Status;
    }

    [Fact]
    public async Task A_renewed_upload_outlives_its_lease_and_completes()
    {
        // A longer lease here: what is tested is that renewals keep it, not how long a stall of the
        // test machine (silos of parallel tests starting) may last.
        const int leaseSeconds = 2 * LeaseSeconds;
        await using var cluster = await StartAsync(leaseSeconds);
        var owner = Caller.Member(NewProject());
        var id = (await cluster.CreateAsync(owner, ImageDraft.Empty.With("disk_format", "raw").With("container_format", "bare"))).Id;
        var ticket = await cluster.Image(id).BeginUploadAsync(owner, UploadTarget.File, null);
        var store = new FileImageDataStore(Path.Combine(_directory.Path, "images"));
        await store.WriteAsync(ticket.DataKey, new MemoryStream([1, 2, 3]), CancellationToken.None);

        // Two leases long, renewing four times as often as a node does.
        for (var i = 0; i < 4 * leaseSeconds; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(0.5));
            Assert.True(await cluster.Image(id).RenewUploadAsync(ticket.UploadId));
            Assert.Equal(ImageStatus.Saving, (await cluster.Image(id).GetAsync(owner)).Status);
        }
        var done = await cluster.Image(id).CompleteUploadAsync(ticket.UploadId, new UploadedData(3, "md5", "sha512"));
        Assert.Equal(ImageStatus.Active, done.Status);
        Assert.True(await store.ExistsAsync(ticket.DataKey, CancellationToken.None));
    }

    [Fact]
    public async Task Renewing_a_ticket_of_a_deleted_image_answers_false()
    {
        await using var cluster = await StartAsync();
        var owner = Caller.Member(NewProject());
        var id = (await cluster.CreateAsync(owner, ImageDraft.Empty.With("disk_format", "raw").With("container_format", "bare"))).Id;
        var ticket = await cluster.Image(id).BeginUploadAsync(owner, UploadTarget.File, null);
        await cluster.Image(id).DeleteAsync(owner);
        Assert.False(await cluster.Image(id).RenewUploadAsync(ticket.UploadId));
    }
}
