namespace Glance.Grains.Extensions.FormatInspection;

/// <summary>
/// The format-inspection rule, on the public contract: an upload of an image's data completes
/// only when what the streaming tier's inspector found fits the image's disk_format
/// (<see cref="FormatRule"/>); otherwise the upload is undone (bytes deleted, image back to
/// queued) and the caller gets 400 naming the reason. The findings arrive with the upload's
/// completion (<see cref="UploadedData"/>): the bytes never pass through a grain.
/// </summary>
internal sealed class FormatInspectionFilter : PublicGrainCallFilter
{
    // Every public call passes here: only an upload's completion takes the slow (async) path.
    protected override Task OnPublicCallAsync(IIncomingGrainCallContext context) =>
        context.InterfaceMethod.Name == nameof(IImageGrain.CompleteUploadAsync) ? CheckUploadAsync(context) : context.Invoke();

    private static async Task CheckUploadAsync(IIncomingGrainCallContext context)
    {
        if (context.TargetContext.GrainInstance is IImageStanding image
            && context.Request.GetArgument(0) is Guid uploadId
            && context.Request.GetArgument(1) is UploadedData data
            && image.PendingUpload(uploadId) is { Target: UploadTarget.File, DiskFormat: var diskFormat }
            && FormatRule.Problem(diskFormat, data) is { } problem)
        {
            await image.RefuseUploadAsync(uploadId);
            throw GlanceException.BadRequest(problem);
        }
        await context.Invoke();
    }
}
