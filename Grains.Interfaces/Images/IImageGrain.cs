using Glance.Grains.Identity;

namespace Glance.Grains.Images;

/// <summary>
/// One image's metadata, keyed by the image id. Every method takes the <see cref="Caller"/>
/// and enforces Glance's rules itself: an image the caller may not see is "not found"
/// (<see cref="Errors.ErrorKind.NotFound"/>), never "forbidden". Rule violations are thrown
/// as <see cref="Errors.GlanceException"/>.
/// </summary>
[Alias("glance.IImageGrain")]
public interface IImageGrain : IGrainWithGuidKey
{
    /// <summary>Registers a new image (status queued). Conflict if the id was ever used.</summary>
    [Alias("create")]
    Task<ImageRecord> CreateAsync(Caller caller, ImageDraft draft);

    /// <summary>The image as the caller may see it.</summary>
    [ReadOnly, Alias("get")]
    Task<ImageRecord> GetAsync(Caller caller);

    /// <summary>Applies patch operations atomically: all of them or none.</summary>
    [Alias("update")]
    Task<ImageRecord> UpdateAsync(Caller caller, ImmutableArray<PatchOperation> operations);

    /// <summary>Adds a tag (idempotent).</summary>
    [Alias("tag")]
    Task TagAsync(Caller caller, string tag);

    /// <summary>Removes a tag; not found if the image does not carry it.</summary>
    [Alias("untag")]
    Task UntagAsync(Caller caller, string tag);

    /// <summary>Hides an active image's data from non-admins (active or deactivated only).</summary>
    [Alias("deactivate")]
    Task DeactivateAsync(Caller caller);

    /// <summary>Makes a deactivated image usable again.</summary>
    [Alias("reactivate")]
    Task ReactivateAsync(Caller caller);

    /// <summary>Deletes the image; forbidden while it is protected.</summary>
    [Alias("delete")]
    Task DeleteAsync(Caller caller);

    /// <summary>Shares the image with a project (owner only, shared images only).</summary>
    [Alias("add-member")]
    Task<ImageMember> AddMemberAsync(Caller caller, string memberId);

    /// <summary>The members the caller may see: all for the owner, its own entry for a member.</summary>
    [ReadOnly, Alias("list-members")]
    Task<ImmutableArray<ImageMember>> ListMembersAsync(Caller caller);

    /// <summary>One member; not found for every failure, as Glance hides why.</summary>
    [ReadOnly, Alias("get-member")]
    Task<ImageMember> GetMemberAsync(Caller caller, string memberId);

    /// <summary>A member answers a share (the member itself or an admin, never the owner).</summary>
    [Alias("set-member-status")]
    Task<ImageMember> SetMemberStatusAsync(Caller caller, string memberId, MemberStatus status);

    /// <summary>Stops sharing with a project (owner only).</summary>
    [Alias("remove-member")]
    Task RemoveMemberAsync(Caller caller, string memberId);

    /// <summary>
    /// Reserves an upload (queued -&gt; saving for <see cref="UploadTarget.File"/>, queued -&gt; uploading
    /// for <see cref="UploadTarget.Stage"/>) and returns where to write the bytes. Conflict when the
    /// image is not queued (a second concurrent upload included); bad request when the disk and
    /// container formats are not set (file uploads); too large when <paramref name="declaredSize"/>
    /// exceeds the size cap or the owner's remaining quota. A declared size is checked again when
    /// the upload completes.
    /// </summary>
    [Alias("begin-upload")]
    Task<UploadTicket> BeginUploadAsync(Caller caller, UploadTarget target, long? declaredSize);

    /// <summary>
    /// Renews the lease of an upload in flight; the streaming node calls it every
    /// <see cref="UploadTicket.RenewEvery"/>. An upload whose lease runs out (its node died) is
    /// undone: its bytes deleted, the image back to queued. False when the ticket is no longer
    /// this image's (undone, completed or the image deleted): the upload should stop.
    /// </summary>
    [Alias("renew-upload")]
    Task<bool> RenewUploadAsync(Guid uploadId);

    /// <summary>
    /// Records the size and hashes of a completed upload: the image becomes active (file) or
    /// stays uploading with its data staged (stage). Bad request when the size is not the one
    /// declared at <see cref="BeginUploadAsync"/> (the image goes back to queued); gone when the
    /// image was deleted meanwhile. Either way the grain deletes the bytes written for the ticket.
    /// </summary>
    [Alias("complete-upload")]
    Task<ImageRecord> CompleteUploadAsync(Guid uploadId, UploadedData data);

    /// <summary>Undoes a failed upload: its bytes deleted, back to queued, size cleared, so a retry works. Idempotent.</summary>
    [Alias("abort-upload")]
    Task AbortUploadAsync(Guid uploadId);

    /// <summary>
    /// Where the caller may read the image's bytes from; null when the image has no data yet.
    /// Forbidden for a deactivated image unless the caller is an admin.
    /// </summary>
    [ReadOnly, Alias("open-data")]
    Task<ImageData?> OpenDataAsync(Caller caller);

    /// <summary>
    /// Starts an import (<c>POST /v2/images/{id}/import</c>) and returns as soon as it is recorded:
    /// the image becomes importing, carries <c>os_glance_import_task</c>, and a task is created
    /// (request id taken from <see cref="GlanceRequestContext.RequestIdKey"/>). The grain then moves
    /// the data itself (staged blob or download) and ends active, or back in queued with
    /// <c>os_glance_failed_import</c> set. Bad request for a malformed body, an unknown or disabled
    /// method or a web-download URI that does not pass filtering; conflict when the image's status
    /// does not fit the method, formats are not set, or another import runs; forbidden for a
    /// caller who may see but not change the image.
    /// </summary>
    [Alias("import")]
    Task ImportAsync(Caller caller, ImportRequest request);

    /// <summary>The image's import tasks the caller may see (not found when the image is invisible).</summary>
    [ReadOnly, Alias("list-tasks")]
    Task<ImmutableArray<ImageTask>> ListTasksAsync(Caller caller);

    /// <summary>The image's typed properties the caller may see (not found when the image is invisible).</summary>
    [ReadOnly, Alias("list-properties")]
    Task<ImmutableArray<Glance.Grains.Properties.ImageProperty>> ListPropertiesAsync(Caller caller);

    /// <summary>One property; not found when absent or invisible to the caller.</summary>
    [ReadOnly, Alias("get-property")]
    Task<Glance.Grains.Properties.ImageProperty> GetPropertyAsync(Caller caller, string name);

    /// <summary>
    /// Creates or replaces one property (image owner or admin). Bad request when the value does not
    /// fit its type or definition; forbidden for a protected property of another project;
    /// precondition failed when <paramref name="ifMatch"/> is not its current ETag. Created is true for a new property.
    /// </summary>
    [Alias("set-property")]
    Task<(Glance.Grains.Properties.ImageProperty Property, bool Created)> SetPropertyAsync(Caller caller, string name, Glance.Grains.Properties.PropertyWrite write, string? ifMatch = null);

    /// <summary>Deletes one property (same rules as <see cref="SetPropertyAsync"/>; not found when absent).</summary>
    [Alias("remove-property")]
    Task RemovePropertyAsync(Caller caller, string name, string? ifMatch);
}
